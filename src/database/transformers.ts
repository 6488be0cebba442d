import { ValueTransformer } from 'typeorm';

/** bigint columns arrive from pg as strings; our counters stay far below 2^53. */
export const bigintNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

/** Unix seconds on the wire for a timestamptz. */
export function toUnixSeconds(date: Date): number;
export function toUnixSeconds(date: Date | null | undefined): number | null;
export function toUnixSeconds(date: Date | null | undefined): number | null {
  return date ? Math.floor(date.getTime() / 1000) : null;
}

/**
 * Rows of a raw query: TypeORM answers UPDATE/DELETE with `[rows, affected]` and everything else
 * with the rows themselves.
 */
export function rowsOf<T>(result: unknown): T[] {
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return result as T[];
}

/** The affected-row count of a raw UPDATE/DELETE (see rowsOf). */
export function affectedOf(result: unknown): number {
  return Array.isArray(result) && result.length === 2 && typeof result[1] === 'number'
    ? result[1]
    : 0;
}
