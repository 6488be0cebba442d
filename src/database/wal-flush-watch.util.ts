/** Where PostgreSQL's WAL stands, in bytes: inserted so far, and flushed to disk. */
export interface WalPositions {
  insert: bigint;
  flush: bigint;
}

interface Waiter {
  ticket: number;
  /** The insert position read after the waiter came: every commit it covers ends before it. */
  target?: bigint;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Tells when commits made with `synchronous_commit = off` are durable (issue 12, the first
 * delta): `flushed()` resolves once the WAL is flushed past every commit that returned before the
 * call. One read of the positions serves every waiter; the insert position it reads is the
 * target of the waiters that came before the read started (a commit that returned before then
 * ends at or before it), and the watch polls until the flush position passes each target
 * (PostgreSQL's WAL writer flushes asynchronous commits within `wal_writer_delay`, 200 ms by
 * default). A failed read rejects every waiter: the caller does not know what was flushed.
 */
export class WalFlushWatch {
  private readonly waiters: Waiter[] = [];
  private tickets = 0;
  private timer?: NodeJS.Timeout;
  private reading = false;

  constructor(
    private readonly read: () => Promise<WalPositions>,
    private readonly pollMs = 20,
  ) {}

  flushed(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ ticket: ++this.tickets, resolve, reject });
      if (!this.reading && !this.timer) {
        this.timer = setTimeout(() => void this.poll(), 0);
      }
    });
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.reading = true;
    // Taken before the read is sent: only these waiters' commits are sure to precede it.
    const covered = this.tickets;
    let positions: WalPositions;
    try {
      positions = await this.read();
    } catch (error) {
      this.reading = false;
      for (const waiter of this.waiters.splice(0)) {
        waiter.reject(error as Error);
      }
      return;
    }
    this.reading = false;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter.target === undefined && waiter.ticket <= covered) {
        waiter.target = positions.insert;
      }
      if (waiter.target !== undefined && positions.flush >= waiter.target) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
    if (this.waiters.length > 0) {
      // Waiters that came during the read need a read of their own at once.
      const fresh = this.waiters.some((w) => w.target === undefined);
      this.timer = setTimeout(() => void this.poll(), fresh ? 0 : this.pollMs);
    }
  }
}
