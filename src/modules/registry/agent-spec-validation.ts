import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

/** A spec that cannot be loaded; the message names the offending field and is safe to show. */
export class AgentSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentSpecError';
  }
}

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The first failure of a validation tree, its message naming the full field path. */
function describeError(errors: ValidationError[], prefix: string): string | undefined {
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const message = Object.values(error.constraints ?? {})[0];
    if (message !== undefined) {
      return message.startsWith(`${error.property} `)
        ? `${path}${message.slice(error.property.length)}`
        : `${path}: ${message}`;
    }
    const nested = describeError(error.children ?? [], path);
    if (nested !== undefined) {
      return nested;
    }
  }
  return undefined;
}

/**
 * plainToInstance + validateSync of one mapping against its DTO; throws AgentSpecError naming
 * `field.<key>` on the first problem. Unknown keys are allowed and kept by the caller.
 */
export function validated<T extends object>(
  cls: ClassConstructor<T>,
  value: unknown,
  field: string,
): T {
  if (!isMapping(value)) {
    throw new AgentSpecError(`${field || 'agent spec'} must be a mapping`);
  }
  const instance = plainToInstance(cls, value);
  const errors = validateSync(instance, { stopAtFirstError: true, forbidUnknownValues: false });
  const message = describeError(errors, field);
  if (message !== undefined) {
    throw new AgentSpecError(message);
  }
  return instance;
}

/** The keys of source that are set (neither undefined nor null). */
export function pick<T extends object, K extends keyof T>(
  source: T,
  keys: K[],
): Partial<Pick<T, K>> {
  const result: Partial<Pick<T, K>> = {};
  for (const key of keys) {
    if (source[key] !== undefined && source[key] !== null) {
      result[key] = source[key];
    }
  }
  return result;
}

/** Throws `<field> repeats the <what> <name>` on the first name seen twice. */
export function assertUniqueNames(items: { name: string }[], field: string, what: string): void {
  const seen = new Set<string>();
  for (const { name } of items) {
    if (seen.has(name)) {
      throw new AgentSpecError(`${field} repeats the ${what} ${name}`);
    }
    seen.add(name);
  }
}
