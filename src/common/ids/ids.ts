import { randomBytes } from 'node:crypto';

/** Id prefixes (spec/README.md §4). */
export enum IdPrefix {
  Agent = 'ag',
  Elicitation = 'elicit',
  Error = 'err',
  File = 'file',
  FunctionCall = 'fc',
  FunctionCallOutput = 'fco',
  Host = 'host',
  Message = 'msg',
  Policy = 'pol',
  Reasoning = 'rs',
  Response = 'resp',
  Runner = 'runner',
  Session = 'conv',
  Terminal = 'term',
}

const HEX32 = /^[0-9a-f]{32}$/;
const DASHED_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let lastMs = 0;
let lastRandom = 0n;

/**
 * A new id: `<prefix>_` + 32 hex = 48-bit millisecond time + 80 random bits. Sorts by creation
 * time, cannot be guessed, and its hex body has the shape of upstream's bare ids. Within one
 * millisecond the random part is incremented so ids from one process stay strictly ordered.
 */
export function newId(prefix: IdPrefix | string): string {
  const now = Date.now();
  let random: bigint;
  if (now <= lastMs) {
    random = lastRandom + 1n;
  } else {
    random = BigInt(`0x${randomBytes(10).toString('hex')}`);
    lastMs = now;
  }
  lastRandom = random & ((1n << 80n) - 1n);
  const time = Math.max(now, lastMs).toString(16).padStart(12, '0').slice(-12);
  return `${prefix}_${time}${lastRandom.toString(16).padStart(20, '0')}`;
}

/**
 * The canonical form of an id a client sent, or null when it cannot be one of ours.
 * Accepts `<prefix>_<32hex>`, upstream's bare 32-hex form and a dashed uuid.
 */
export function normalizeId(
  prefix: IdPrefix | string,
  input: string | undefined | null,
): string | null {
  if (typeof input !== 'string') {
    return null;
  }
  const value = input.trim().toLowerCase();
  if (value.startsWith(`${prefix}_`)) {
    const body = value.slice(prefix.length + 1);
    return HEX32.test(body) ? `${prefix}_${body}` : null;
  }
  if (HEX32.test(value)) {
    return `${prefix}_${value}`;
  }
  if (DASHED_UUID.test(value)) {
    return `${prefix}_${value.replace(/-/g, '')}`;
  }
  return null;
}

/** Runner ids: self-chosen `runner_<32hex>` or token-bound `runner_token_<32hex>`. */
export function isRunnerId(value: string): boolean {
  return /^runner_(token_)?[0-9a-f]{32}$/.test(value);
}

/** Item ids minted by runners keep their prefix (msg_, fc_, fco_, rs_, err_, …) and a safe body. */
export function isItemId(value: string): boolean {
  return /^[a-z]{2,8}_[0-9A-Za-z]{16,64}$/.test(value);
}
