import { UsageError } from 'src/cli/cli-command';

const UNITS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
/** Tokens for local use live at most a year: a JWT that never expires cannot be revoked. */
export const MAX_TTL_SECONDS = 365 * 86_400;

/**
 * Parses a `--ttl` such as `30m`, `12h` or `7d` into seconds. A unit is required: a bare number
 * is refused rather than silently read as seconds, and so is `forever`.
 */
export function parseDuration(value: string, flag = '--ttl'): number {
  const text = value.trim().toLowerCase();
  if (/^\d+$/.test(text)) {
    throw new UsageError(
      `${flag} ${value}: add a unit: ${text}s, ${text}m, ${text}h or ${text}d (seconds, minutes, hours, days)`,
    );
  }
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) {
    throw new UsageError(
      `${flag} '${value}' is not a duration: use a number with s, m, h or d (e.g. 30m, 12h, 7d); tokens always expire`,
    );
  }
  const seconds = Number(match[1]) * UNITS[match[2] as keyof typeof UNITS];
  if (seconds <= 0) {
    throw new UsageError(`${flag} must be positive`);
  }
  if (seconds > MAX_TTL_SECONDS) {
    throw new UsageError(`${flag} ${value} is too long: at most 365d`);
  }
  return seconds;
}
