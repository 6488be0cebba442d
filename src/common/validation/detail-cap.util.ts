import { ValidationDetail } from 'src/common/errors/error-body';

/**
 * How much of a request a 422 echoes back (docs/SECURITY.md, "Input limits"). FastAPI echoes
 * every invalid `input` whole; a 100 KB field would come back as 100 KB of error. Each entry's
 * `input` is a preview of at most INPUT_BUDGET characters of strings and keys, nested at most
 * INPUT_MAX_DEPTH levels, INPUT_MAX_ENTRIES entries per object or array, with `…` where something
 * was left out; `loc` parts and `msg` are cut too; the list stops after MAX_ENTRIES entries or
 * once it holds about LIST_BUDGET characters (the first entry is always kept).
 */
export const DETAIL_CAPS = {
  MAX_ENTRIES: 50,
  LIST_BUDGET: 16 * 1024,
  INPUT_BUDGET: 1024,
  INPUT_MAX_STRING: 256,
  INPUT_MAX_DEPTH: 3,
  INPUT_MAX_ENTRIES: 20,
  LOC_PART_MAX: 128,
  LOC_MAX_PARTS: 32,
  MSG_MAX: 512,
} as const;

const MORE = '…';

/** The first `max` characters of `text` (never half a surrogate pair), `…` appended when cut. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) {
    return text;
  }
  let end = Math.max(0, max);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) {
    end -= 1;
  }
  return `${text.slice(0, end)}${MORE}`;
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  // Never `target[key] =`: a `__proto__` key would replace the prototype instead.
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    configurable: true,
    writable: true,
  });
}

function preview(value: unknown, depth: number, budget: { left: number }): unknown {
  const json = (value as { toJSON?: () => unknown } | null)?.toJSON;
  if (typeof json === 'function') {
    value = json.call(value);
  }
  if (typeof value === 'string') {
    const text = cutText(value, Math.min(DETAIL_CAPS.INPUT_MAX_STRING, Math.max(budget.left, 0)));
    budget.left -= text.length;
    return text;
  }
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') {
    budget.left -= 16;
    return String(value).slice(0, 16);
  }
  if (value === null || typeof value !== 'object') {
    budget.left -= 8;
    return value ?? null;
  }
  if (depth >= DETAIL_CAPS.INPUT_MAX_DEPTH) {
    budget.left -= 1;
    return MORE;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      if (out.length >= DETAIL_CAPS.INPUT_MAX_ENTRIES || budget.left <= 0) {
        out.push(MORE);
        break;
      }
      out.push(preview(item, depth + 1, budget));
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  let count = 0;
  for (const [key, item] of Object.entries(value)) {
    if (count >= DETAIL_CAPS.INPUT_MAX_ENTRIES || budget.left <= 0) {
      define(out, MORE, MORE);
      break;
    }
    const shownKey = cutText(key, DETAIL_CAPS.LOC_PART_MAX);
    budget.left -= shownKey.length;
    define(out, shownKey, preview(item, depth + 1, budget));
    count += 1;
  }
  return out;
}

/** A bounded copy of a request value, for echoing in an error. */
export function previewInput(value: unknown): unknown {
  return preview(value, 0, { left: DETAIL_CAPS.INPUT_BUDGET });
}

function capLoc(loc: (string | number)[]): (string | number)[] {
  const parts = loc
    .slice(0, DETAIL_CAPS.LOC_MAX_PARTS)
    .map((part) => (typeof part === 'string' ? cutText(part, DETAIL_CAPS.LOC_PART_MAX) : part));
  return loc.length > DETAIL_CAPS.LOC_MAX_PARTS ? [...parts, MORE] : parts;
}

/** One entry with every field bounded. */
export function capDetailEntry(entry: ValidationDetail): ValidationDetail {
  const capped: ValidationDetail = {
    ...entry,
    loc: capLoc(entry.loc),
    msg: cutText(String(entry.msg), DETAIL_CAPS.MSG_MAX),
  };
  if ('input' in entry) {
    capped.input = previewInput(entry.input);
  }
  return capped;
}

/** The detail list as a 422 may echo it (see DETAIL_CAPS). */
export function capDetail(detail: ValidationDetail[]): ValidationDetail[] {
  const out: ValidationDetail[] = [];
  let size = 0;
  for (const entry of detail.slice(0, DETAIL_CAPS.MAX_ENTRIES)) {
    const capped = capDetailEntry(entry);
    size += JSON.stringify(capped).length;
    if (out.length > 0 && size > DETAIL_CAPS.LIST_BUDGET) {
      break;
    }
    out.push(capped);
  }
  return out;
}
