/** Where PostgreSQL's WAL stands, in bytes: inserted so far, and flushed to disk. */
export interface WalPositions {
  insert: bigint;
  flush: bigint;
  /** Changes when PostgreSQL restarts (after a crash the WAL goes on from the flush position). */
  incarnation: string;
}

interface Waiter {
  ticket: number;
  /** The restarts seen when the work it waits for began. */
  epoch: number;
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
 * So does a restart of PostgreSQL seen since the work began (`epoch`): after a crash the WAL
 * continues from where it was flushed, so positions read before it say nothing of lost commits.
 */
export class WalFlushWatch {
  private readonly waiters: Waiter[] = [];
  private tickets = 0;
  private timer?: NodeJS.Timeout;
  private reading = false;
  private incarnation?: string;
  private restarts = 0;

  constructor(
    private readonly read: () => Promise<WalPositions>,
    private readonly pollMs = 20,
  ) {}

  /** Restarts of PostgreSQL seen so far: take it before the work `flushed(epoch)` is about. */
  get epoch(): number {
    return this.restarts;
  }

  flushed(epoch = this.restarts): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ ticket: ++this.tickets, epoch, resolve, reject });
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
    if (this.incarnation !== undefined && positions.incarnation !== this.incarnation) {
      this.restarts++;
    }
    this.incarnation = positions.incarnation;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter.epoch !== this.restarts) {
        this.waiters.splice(i, 1);
        waiter.reject(new Error('PostgreSQL restarted: what was flushed before is unknown'));
        continue;
      }
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
