import { ValidationDetail } from 'src/common/errors/error-body';
import { RequestValidationError } from 'src/common/validation/request-validation.error';

/**
 * The largest nesting of a JSON body or a validated value (objects and arrays), unless
 * `OMNIGENT_JSON_MAX_DEPTH` says otherwise. Deep enough for any request the API defines (the
 * deepest, an item's `data`, nests about six levels), shallow enough that no recursive library
 * code (class-transformer, JSON.stringify, the pg driver) can run out of stack.
 */
export const DEFAULT_JSON_MAX_DEPTH = 64;

/** At most this many findings are reported for one request. */
const MAX_FINDINGS = 10;

// A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// PostgreSQL refuses NUL in text and jsonb, and jsonb refuses unpaired surrogates; as text, the
// driver would silently store U+FFFD instead.
// eslint-disable-next-line no-control-regex
const UNSAFE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSAFE_TEXT_MESSAGE =
  'Text must not contain NUL characters or unpaired UTF-16 surrogates';

export function isUnsafeText(text: string): boolean {
  return UNSAFE.test(text);
}

function unsafe(loc: (string | number)[], input: string): ValidationDetail {
  return { loc, msg: UNSAFE_TEXT_MESSAGE, type: 'string_unicode', input };
}

function tooDeep(loc: (string | number)[], maxDepth: number): ValidationDetail {
  return {
    loc,
    msg: `JSON nested deeper than ${maxDepth} levels`,
    type: 'json_invalid',
    input: null,
  };
}

// Only what JSON and query parsing produce: never walk a Buffer or a class instance byte by byte.
function isPlainContainer(value: unknown): value is object {
  if (value === null || typeof value !== 'object') {
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  return Array.isArray(value) || proto === Object.prototype || proto === null;
}

interface Visit {
  value: unknown;
  parent: Visit | null;
  key: string | number | null;
  depth: number;
}

// Built only for a finding: copying the path at every level would make a deep value quadratic.
function locOf(visit: Visit, root: (string | number)[]): (string | number)[] {
  const keys: (string | number)[] = [];
  for (let at: Visit | null = visit; at && at.key !== null; at = at.parent) {
    keys.push(at.key);
  }
  return [...root, ...keys.reverse()];
}

/**
 * Every string (and object key) in a parsed request value that the server cannot store, and any
 * nesting past `maxDepth`, as FastAPI-style details under `loc` (e.g. `['body']`). Iterative and
 * linear in the size of the value, so a hostile value can exhaust neither the stack nor the CPU;
 * stops after a few findings.
 */
export function findUnsafeInput(
  value: unknown,
  loc: (string | number)[],
  maxDepth: number = DEFAULT_JSON_MAX_DEPTH,
): ValidationDetail[] {
  const found: ValidationDetail[] = [];
  const stack: Visit[] = [{ value, parent: null, key: null, depth: 0 }];
  while (stack.length > 0 && found.length < MAX_FINDINGS) {
    const next = stack.pop() as Visit;
    if (typeof next.value === 'string') {
      if (isUnsafeText(next.value)) {
        found.push(unsafe(locOf(next, loc), next.value));
      }
      continue;
    }
    if (!isPlainContainer(next.value)) {
      continue;
    }
    if (next.depth >= maxDepth) {
      found.push(tooDeep(locOf(next, loc), maxDepth));
      continue;
    }
    const entries: [string | number, unknown][] = Array.isArray(next.value)
      ? next.value.map((item, index) => [index, item])
      : Object.entries(next.value);
    for (const [key] of entries) {
      if (typeof key === 'string' && isUnsafeText(key)) {
        found.push(unsafe([...locOf(next, loc), key], key));
      }
    }
    // Pushed in reverse so findings come out in document order.
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const [key, child] = entries[index];
      stack.push({ value: child, parent: next, key, depth: next.depth + 1 });
    }
  }
  return found.slice(0, MAX_FINDINGS);
}

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

/**
 * What the global pipe does for a body, for JSON a service parses and validates by hand (the
 * `metadata` part of a multipart create): 422 for unstorable text or too deep nesting, then the
 * prototype keys removed as Nest's ValidationPipe removes them (class-transformer and
 * class-validator trip over an own `constructor`), so both paths accept the same input.
 */
export function guardUntypedInput(
  value: unknown,
  loc: (string | number)[],
  maxDepth: number = DEFAULT_JSON_MAX_DEPTH,
): void {
  const unsafe = findUnsafeInput(value, loc, maxDepth);
  if (unsafe.length > 0) {
    throw new RequestValidationError(unsafe);
  }
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (!isPlainContainer(next)) {
      continue;
    }
    if (!Array.isArray(next)) {
      for (const key of PROTOTYPE_KEYS) {
        if (Object.prototype.hasOwnProperty.call(next, key)) {
          delete (next as Record<string, unknown>)[key];
        }
      }
    }
    stack.push(...Object.values(next));
  }
}
