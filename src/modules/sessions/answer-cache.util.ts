/** A cached answer: its JSON text and the version key it was built under. */
export interface CachedAnswer {
  version: string;
  json: string;
  etag: string;
}

/** Map overhead and key per entry, so that many tiny answers are bounded too. */
const ENTRY_OVERHEAD = 256;

/**
 * Answers by slot (e.g. `snapshot:<session>:<variant>`), least recently used first out, bounded
 * in bytes (a string's length × 2: V8 may hold it in two-byte form). An answer is only handed
 * back for the version it was stored under: the caller reads the current version first.
 */
export class AnswerCache {
  private readonly entries = new Map<string, CachedAnswer>();
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
    if (entry.version !== version) {
      this.bytes -= sizeOf(slot, entry);
      return undefined;
    }
    this.entries.set(slot, entry);
    return entry;
  }

  set(slot: string, entry: CachedAnswer): void {
    const size = sizeOf(slot, entry);
    if (size > this.maxBytes) {
      this.delete(slot);
      return;
    }
    this.delete(slot);
    this.entries.set(slot, entry);
    this.bytes += size;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes) {
        break;
      }
      this.entries.delete(oldest);
      this.bytes -= sizeOf(oldest, old);
    }
  }

  delete(slot: string): void {
    const entry = this.entries.get(slot);
    if (entry) {
      this.entries.delete(slot);
      this.bytes -= sizeOf(slot, entry);
    }
  }
}

function sizeOf(slot: string, entry: CachedAnswer): number {
  return (
    (slot.length + entry.version.length + entry.json.length + entry.etag.length) * 2 +
    ENTRY_OVERHEAD
  );
}
