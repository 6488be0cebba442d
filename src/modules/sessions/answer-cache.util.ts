/** A cached answer: its JSON text and the version key it was built under. */
export interface CachedAnswer {
  version: string;
  json: string;
  etag: string;
}

/** Map overhead and key per entry, so that many tiny answers are bounded too. */
const ENTRY_OVERHEAD = 256;

interface Held {
  answer: CachedAnswer;
  size: number;
}

/**
 * The UTF-8 bytes of the answers the caches hold, by JSON text, counted by holder (the caches
 * of one process share it). The fast lane sends these instead of encoding the same 30 KB of
 * text on every request (issue 12: ~10 % of a cached snapshot's CPU).
 */
const ENCODED = new Map<string, { bytes: Buffer; holders: number }>();

/** The bytes of `json` while a cache holds an answer with that text. */
export function encodedAnswer(json: string): Buffer | undefined {
  return ENCODED.get(json)?.bytes;
}

function hold(json: string): Buffer {
  const known = ENCODED.get(json);
  if (known) {
    known.holders++;
    return known.bytes;
  }
  const bytes = Buffer.from(json, 'utf8');
  ENCODED.set(json, { bytes, holders: 1 });
  return bytes;
}

function release(json: string): void {
  const known = ENCODED.get(json);
  if (known && --known.holders === 0) {
    ENCODED.delete(json);
  }
}

/**
 * Answers by slot (e.g. `snapshot:<session>:<variant>`), least recently used first out, bounded
 * in bytes (a string's length × 2: V8 may hold it in two-byte form; plus its UTF-8 bytes). An
 * answer is only handed back for the version it was stored under: the caller reads the current
 * version first.
 */
export class AnswerCache {
  private readonly entries = new Map<string, Held>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get size(): number {
    return this.entries.size;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  /** The answer of `slot` if it was stored under `version`; a stale one is dropped. */
  get(slot: string, version: string): CachedAnswer | undefined {
    const entry = this.entries.get(slot);
    if (!entry) {
      return undefined;
    }
    this.entries.delete(slot);
    if (entry.answer.version !== version) {
      this.drop(entry);
      return undefined;
    }
    this.entries.set(slot, entry);
    return entry.answer;
  }

  set(slot: string, answer: CachedAnswer): void {
    this.delete(slot);
    const entry = { answer, size: sizeOf(slot, answer, hold(answer.json).length) };
    if (entry.size > this.maxBytes) {
      release(answer.json);
      return;
    }
    this.entries.set(slot, entry);
    this.bytes += entry.size;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes) {
        break;
      }
      this.entries.delete(oldest);
      this.drop(old);
    }
  }

  delete(slot: string): void {
    const entry = this.entries.get(slot);
    if (entry) {
      this.entries.delete(slot);
      this.drop(entry);
    }
  }

  private drop(entry: Held): void {
    this.bytes -= entry.size;
    release(entry.answer.json);
  }
}

function sizeOf(slot: string, answer: CachedAnswer, encoded: number): number {
  return (
    (slot.length + answer.version.length + answer.json.length + answer.etag.length) * 2 +
    encoded +
    ENTRY_OVERHEAD
  );
}
