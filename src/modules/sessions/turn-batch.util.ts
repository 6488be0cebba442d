interface Waiter<A, V> {
  arg: A;
  resolve: (value: V) => void;
  reject: (error: unknown) => void;
  promise: Promise<V>;
}

/**
 * Loads of one event-loop turn run together (issue 12: fewer version statements under
 * concurrency). Loads made before the batch is dispatched — at `setImmediate`, after the turn's
 * I/O callbacks, i.e. the requests parsed in the same turn — share one `run`; loads of the same
 * key share its answer. The batch is detached before `run` is called, so a load never joins a
 * statement already sent: every answer is read after the load that receives it was made, and
 * is never older than the request that asked.
 */
export class TurnBatch<A, V> {
  private pending: Map<string, Waiter<A, V>> | null = null;

  /** `run` answers every key of a batch (with the argument of its first load); a missing key is undefined. */
  constructor(private readonly run: (batch: Map<string, A>) => Promise<Map<string, V>>) {}

  load(key: string, arg: A): Promise<V> {
    let batch = this.pending;
    if (!batch) {
      const fresh = new Map<string, Waiter<A, V>>();
      batch = this.pending = fresh;
      setImmediate(() => this.dispatch(fresh));
    }
    const known = batch.get(key);
    if (known) {
      return known.promise;
    }
    let resolve!: (value: V) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<V>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    batch.set(key, { arg, resolve, reject, promise });
    return promise;
  }

  private dispatch(batch: Map<string, Waiter<A, V>>): void {
    if (this.pending === batch) {
      // From here on a load starts the next batch.
      this.pending = null;
    }
    const args = new Map<string, A>();
    for (const [key, waiter] of batch) {
      args.set(key, waiter.arg);
    }
    let running: Promise<Map<string, V>>;
    try {
      running = this.run(args);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (answers) => {
        for (const [key, waiter] of batch) {
          waiter.resolve(answers.get(key) as V);
        }
      },
      (error: unknown) => {
        for (const waiter of batch.values()) {
          waiter.reject(error);
        }
      },
    );
  }
}
