import { WalFlushWatch, WalPositions } from 'src/database/wal-flush-watch.util';

/** A fake PostgreSQL: the test moves the WAL positions; every read is recorded. */
function fakeWal() {
  const wal = {
    insert: 100n,
    flush: 100n,
    incarnation: 'pg-1',
    reads: 0,
    fail: undefined as Error | undefined,
  };
  const pending: (() => void)[] = [];
  const read = () =>
    new Promise<WalPositions>((resolve, reject) => {
      wal.reads++;
      // The positions as the read finds them; it answers when the test releases it.
      const found = { insert: wal.insert, flush: wal.flush, incarnation: wal.incarnation };
      pending.push(() => (wal.fail ? reject(wal.fail) : resolve(found)));
    });
  /** Lets the reads sent so far answer, then runs the timers they scheduled. */
  const answer = async () => {
    await jest.advanceTimersByTimeAsync(0);
    for (const release of pending.splice(0)) {
      release();
    }
    await jest.advanceTimersByTimeAsync(0);
  };
  return { wal, read, answer };
}

describe(WalFlushWatch.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('should resolve only once the flush position passes the insert position read after the call', async () => {
    const { wal, read, answer } = fakeWal();
    const watch = new WalFlushWatch(read, 20);
    wal.insert = 180n; // an asynchronous commit ended at 180, nothing flushed past 100
    let done = false;
    void watch.flushed().then(() => (done = true));

    await answer();
    expect(done).toBe(false);
    wal.insert = 250n; // later commits do not move this waiter's target
    wal.flush = 179n;
    await jest.advanceTimersByTimeAsync(20);
    await answer();
    expect(done).toBe(false);
    wal.flush = 180n;
    await jest.advanceTimersByTimeAsync(20);
    await answer();
    expect(done).toBe(true);
  });

  it('should not take a read already sent for a waiter that came after it', async () => {
    const { wal, read, answer } = fakeWal();
    const watch = new WalFlushWatch(read, 20);
    wal.insert = 150n;
    wal.flush = 150n; // the first waiter's commit is already flushed
    const first = watch.flushed();
    await jest.advanceTimersByTimeAsync(0); // its read found (150, 150) and is on its way back
    wal.insert = 300n; // then a commit returned…
    let secondDone = false;
    const second = watch.flushed().then(() => (secondDone = true)); // …and its ack waits
    await answer();
    await expect(first).resolves.toBeUndefined();
    expect(secondDone).toBe(false); // (150, 150) says nothing of the commit at 300
    await answer(); // the second waiter's own read: target 300, flushed 150
    expect(secondDone).toBe(false);
    wal.flush = 300n;
    await jest.advanceTimersByTimeAsync(20);
    await answer();
    await second;
    expect(secondDone).toBe(true);
  });

  it('should serve waiters that come together with one read', async () => {
    const { wal, read, answer } = fakeWal();
    const watch = new WalFlushWatch(read, 20);
    const all = Promise.all([watch.flushed(), watch.flushed(), watch.flushed()]);
    await answer();
    await all;
    expect(wal.reads).toBe(1);
  });

  it('should reject every waiter when a read fails', async () => {
    const { wal, read, answer } = fakeWal();
    const watch = new WalFlushWatch(read, 20);
    wal.fail = new Error('terminating connection due to administrator command');
    const waiting = [watch.flushed(), watch.flushed()];
    const settled = Promise.allSettled(waiting);
    await answer();
    expect((await settled).map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });

  it('should reject a waiter whose work began before PostgreSQL restarted, whatever the positions', async () => {
    const { wal, read, answer } = fakeWal();
    const watch = new WalFlushWatch(read, 20);
    await Promise.all([watch.flushed(), answer()]); // the watch knows this run: pg-1
    const epoch = watch.epoch; // a unit begins, commits at 150 (unflushed)…
    wal.insert = 150n;
    // …PostgreSQL crashes and recovers from 100, and new WAL soon passes 150.
    wal.incarnation = 'pg-2';
    wal.insert = 400n;
    wal.flush = 400n;
    const waiting = watch.flushed(epoch);
    const settled = Promise.allSettled([waiting]);
    await answer();
    expect((await settled)[0]).toMatchObject({ status: 'rejected' });
    // Work begun after the restart was seen is confirmed as usual.
    const later = watch.flushed(watch.epoch);
    await answer();
    await expect(later).resolves.toBeUndefined();
  });
});
