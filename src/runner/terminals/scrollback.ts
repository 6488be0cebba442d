/** How far past the cut a replay may start to begin on a fresh line instead. */
const LINE_SEARCH_BYTES = 4096;

/**
 * A terminal's recent output, bounded in bytes, with the offset of every byte in the terminal's
 * whole output. `end` counts everything ever appended, so a viewer that got a snapshot ending at
 * `end` can drop the part of later output chunks it already has (offset < end).
 */
export class ScrollbackBuffer {
  private chunks: Buffer[] = [];
  private retained = 0;
  private total = 0;

  constructor(readonly maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError('scrollback size must be a positive integer');
    }
  }

  /** Bytes of output ever appended: the offset right after the last byte. */
  get end(): number {
    return this.total;
  }

  /** Bytes currently kept. */
  get size(): number {
    return this.retained;
  }

  append(data: Buffer): void {
    if (data.length === 0) {
      return;
    }
    this.total += data.length;
    if (data.length >= this.maxBytes) {
      this.chunks = [Buffer.from(data.subarray(data.length - this.maxBytes))];
      this.retained = this.maxBytes;
      this.trimToLine();
      return;
    }
    this.chunks.push(Buffer.from(data));
    this.retained += data.length;
    if (this.retained <= this.maxBytes) {
      return;
    }
    let excess = this.retained - this.maxBytes;
    while (excess > 0) {
      const first = this.chunks[0];
      if (first.length <= excess) {
        this.chunks.shift();
        excess -= first.length;
        this.retained -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.retained -= excess;
        excess = 0;
      }
    }
    this.trimToLine();
  }

  /** The retained output and the offset it ends at. */
  snapshot(): { data: Buffer; end: number } {
    const data = Buffer.concat(this.chunks, this.retained);
    this.chunks = data.length > 0 ? [data] : [];
    return { data, end: this.total };
  }

  /**
   * After a cut, start the kept output after the next newline when one is near, so a replay
   * does not begin in the middle of a line (or of an escape sequence on it).
   */
  private trimToLine(): void {
    const first = this.chunks[0];
    if (!first) {
      return;
    }
    const newline = first.subarray(0, LINE_SEARCH_BYTES).indexOf(0x0a);
    if (newline < 0 || newline + 1 >= this.retained) {
      return;
    }
    this.chunks[0] = first.subarray(newline + 1);
    this.retained -= newline + 1;
    if (this.chunks[0].length === 0) {
      this.chunks.shift();
    }
  }
}
