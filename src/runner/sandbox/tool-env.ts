const SECRET_NAMES = new Set(['OPENAI_BASE_URL', 'DATABASE_URL', 'REDIS_URL']);
const SECRET_PARTS = ['TOKEN', 'SECRET', 'PASSWORD', 'API_KEY', '_KEY'];

/**
 * The environment of unsandboxed tool processes: the runner's own, minus anything that could
 * carry a credential or reach the runner's infrastructure (names matched case-insensitively).
 * A best effort by name only; the sandbox starts from an empty environment instead.
 */
export function toolEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const upper = name.toUpperCase();
    if (
      value === undefined ||
      upper.startsWith('OMNIGENT_') ||
      SECRET_NAMES.has(upper) ||
      SECRET_PARTS.some((part) => upper.includes(part))
    ) {
      continue;
    }
    result[name] = value;
  }
  return result;
}

export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// Locale and time zone names only: nothing here can hold a credential.
const CARRIED = ['LANG', 'LC_ALL', 'TZ'];

/** The whole environment of a sandboxed tool process (bwrap --clearenv, then these). */
export function sandboxEnvironment(
  workspace: string,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const result: Record<string, string> = {
    PATH: SANDBOX_PATH,
    HOME: workspace,
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
  };
  for (const name of CARRIED) {
    const value = env[name];
    if (value && /^[A-Za-z0-9_.:@/+-]{1,64}$/.test(value)) {
      result[name] = value;
    }
  }
  return result;
}
