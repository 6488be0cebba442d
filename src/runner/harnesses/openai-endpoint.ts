import { HarnessError, HarnessStepInput } from 'src/runner/harnesses/harness';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** Replaces `${NAME}` references from `env`; a reference to an unset variable is a config error. */
function resolveReferences(
  value: string,
  field: string,
  env: Record<string, string | undefined>,
): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
    const resolved = env[name];
    if (resolved === undefined || resolved === '') {
      throw new HarnessError(
        'harness_not_configured',
        `The environment variable ${name} referenced by executor.auth.${field} is not set`,
      );
    }
    return resolved;
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export interface Endpoint {
  url: string;
  origin: string;
  apiKey: string;
  model: string;
}

/**
 * Where and as whom the harness calls the model: the agent's `executor.auth` (with `${NAME}`
 * references to the runner environment) or the runner's OPENAI_* variables.
 */
export function resolveEndpoint(input: HarnessStepInput): Endpoint {
  const auth = input.agent.executor.auth ?? {};
  const baseUrl =
    nonEmpty(auth.base_url) !== undefined
      ? resolveReferences(auth.base_url as string, 'base_url', input.env)
      : (nonEmpty(input.env.OPENAI_BASE_URL) ?? OPENAI_DEFAULT_BASE_URL);
  const apiKey =
    nonEmpty(auth.api_key) !== undefined
      ? resolveReferences(auth.api_key as string, 'api_key', input.env)
      : nonEmpty(input.env.OPENAI_API_KEY);
  if (apiKey === undefined) {
    throw new HarnessError(
      'harness_not_configured',
      'No API key for the openai harness: set executor.auth.api_key in the agent spec or ' +
        'OPENAI_API_KEY in the runner environment',
    );
  }
  const model =
    nonEmpty(input.model ?? undefined) ??
    nonEmpty(input.agent.executor.model) ??
    nonEmpty(input.env.OPENAI_MODEL);
  if (model === undefined) {
    throw new HarnessError(
      'harness_not_configured',
      'No model for the openai harness: set executor.model in the agent spec or OPENAI_MODEL in ' +
        'the runner environment',
    );
  }
  let origin: string;
  try {
    // origin drops any user:password@ part, so error messages never echo credentials in the URL.
    origin = new URL(baseUrl).origin;
  } catch {
    throw new HarnessError('harness_not_configured', 'The model base URL is not a valid URL');
  }
  return { url: `${baseUrl.replace(/\/+$/, '')}/chat/completions`, origin, apiKey, model };
}
