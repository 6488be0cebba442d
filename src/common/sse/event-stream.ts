import { MessageEvent } from '@nestjs/common';
import {
  asyncScheduler,
  catchError,
  concat,
  concatMap,
  defer,
  EMPTY,
  map,
  merge,
  MonoTypeOperatorFunction,
  Observable,
  ObservableInput,
  ObservableNotification,
  of,
  SchedulerAction,
  SchedulerLike,
  Subscriber,
  takeUntil,
} from 'rxjs';

/** An event as it arrives live: durable events carry their stream seq, transient ones null. */
export interface LiveEvent<E> {
  seq: number | null;
  event: E;
}

/** A durable event read back from the log. */
export interface LoggedEvent<E> {
  seq: number;
  event: E;
}

export interface EventStreamOptions<E extends { type: string }> {
  /**
   * The live events, subscribed before the current seq was read (see `hold`), so nothing
   * published since is missed. They are written after the ack and the replay; completion ends
   * the stream cleanly with `[DONE]`.
   */
  live$: Observable<LiveEvent<E>>;
  /** The stream seq current right after `live$` was subscribed. */
  startSeq: number;
  /** The client's `Last-Event-ID` as a seq, or null (none, or not a seq). */
  lastEventId: number | null;
  /** Logged events with `after < seq <= upTo`, in order. */
  replay(after: number, upTo: number): Observable<LoggedEvent<E>>;
  /** The oldest seq still logged (null: none), to tell a complete replay from a pruned one. */
  oldestSeq(): ObservableInput<number | null>;
  /** The ack frame, and the frame sent after `heartbeatMs` of silence. */
  heartbeat(): E;
  /**
   * Transient connect-time frames (the session's child summaries), sent after the replay,
   * alongside the live events: the tail never waits for them.
   */
  snapshot?(): Observable<E>;
  /** Sent instead of a replay that the log can no longer serve (the client re-reads the state). */
  reset(): E;
  heartbeatMs: number;
  /** Emits to end the stream cleanly with `[DONE]` (server shutdown). */
  end$: Observable<unknown>;
  /** A failure once headers are out: the stream ends without `[DONE]`, so the client resumes. */
  onError(error: unknown): void;
}

export const DONE = '[DONE]';

/**
 * The frames of a resumable event stream (spec/runner-protocol.md §7, style rule 19): the ack
 * heartbeat, the replay after `Last-Event-ID` (or `stream.reset` when pruned), then the live
 * events with duplicates dropped and gaps filled from the log, a heartbeat after every
 * `heartbeatMs` of silence, and `[DONE]` on a clean end (never after a failure).
 *
 * Every frame carries an id: a durable event its seq, anything else the last seq written on
 * this connection, so ids never go back and a reconnect resumes exactly.
 */
export function eventStream<E extends { type: string }>(
  options: EventStreamOptions<E>,
): Observable<MessageEvent> {
  return defer(() => {
    const requested = options.lastEventId;
    let last = requested === null ? options.startSeq : Math.min(requested, options.startSeq);

    const frame = (event: E, id = last): MessageEvent => sharedFrame(event, id);
    const durable = ({ seq, event }: LoggedEvent<E>): MessageEvent => {
      last = Math.max(last, seq);
      return frame(event, seq);
    };
    // After a replay `last` is its upper bound even when events in it were pruned meanwhile.
    const replay = (after: number, upTo: number) =>
      concat(
        options.replay(after, upTo).pipe(map(durable)),
        defer(() => {
          last = Math.max(last, upTo);
          return EMPTY;
        }),
      );

    const resume$ =
      requested === null || requested >= options.startSeq
        ? EMPTY
        : defer(options.oldestSeq).pipe(
            concatMap((oldest) => {
              if (oldest !== null && oldest <= requested + 1) {
                return replay(requested, options.startSeq);
              }
              last = options.startSeq;
              return of(frame(options.reset()));
            }),
          );

    // concatMap handles one event at a time, in order, even while a gap is read from the log.
    const live$ = options.live$.pipe(
      concatMap(({ seq, event }) => {
        if (seq === null) {
          return of(frame(event));
        }
        if (seq <= last) {
          return EMPTY;
        }
        const gap$ = seq > last + 1 ? replay(last, seq - 1) : EMPTY;
        return concat(
          gap$,
          defer(() => of(durable({ seq, event }))),
        );
      }),
    );

    const snapshot$ = options.snapshot
      ? defer(() => options.snapshot!()).pipe(map((event) => frame(event)))
      : EMPTY;

    return concat(
      concat(
        defer(() => of(frame(options.heartbeat()))),
        resume$,
        merge(snapshot$, live$),
      ).pipe(
        heartbeatAfterSilence(options.heartbeatMs, () => frame(options.heartbeat())),
        takeUntil(options.end$),
      ),
      defer(() => of<MessageEvent>({ data: DONE, id: String(last) })),
    ).pipe(
      catchError((error: unknown) => {
        options.onError(error);
        return EMPTY;
      }),
    );
  });
}

const frames = new WeakMap<object, MessageEvent>();

/**
 * The frame of `event` with `id`: one object (and one `JSON.stringify`) for every stream that
 * sends the same event with the same id, which is every live stream of a session once it has
 * caught up; the SSE writer then formats that frame once too (`frameText`).
 */
function sharedFrame<E extends { type: string }>(event: E, id: number): MessageEvent {
  const cached = frames.get(event);
  const text = String(id);
  if (cached?.id === text) {
    return cached;
  }
  const frame = { type: event.type, id: text, data: cached ? cached.data : JSON.stringify(event) };
  frames.set(event, frame);
  return frame;
}

/**
 * Adds `heartbeat()` after every `ms` without a value; stops with the source. One timer per
 * stream that checks the silence when it fires, not a new timer per value (fan-out cost).
 */
export function heartbeatAfterSilence<T>(
  ms: number,
  heartbeat: () => T,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let last = scheduler.now();
      // One action, rescheduled from inside (RxJS then keeps its interval when the delay repeats).
      const timer = scheduler.schedule(function (this: SchedulerAction<unknown>) {
        const silent = scheduler.now() - last;
        if (silent >= ms) {
          last = scheduler.now();
          subscriber.next(heartbeat());
        }
        this.schedule(undefined, silent >= ms ? ms : ms - silent);
      }, ms);
      const subscription = source.subscribe({
        next: (value) => {
          last = scheduler.now();
          subscriber.next(value);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        timer.unsubscribe();
        subscription.unsubscribe();
      };
    });
}

/** An Observable already subscribed to its source, keeping what arrives for its one subscriber. */
export interface Held<T> extends Observable<T> {
  /** Leaves the source when the held Observable will never be subscribed. */
  release(): void;
}

/**
 * Subscribes to `source` now and buffers its notifications until the returned Observable is
 * subscribed (once); unsubscribing it leaves the source. Lets a stream subscribe to its live
 * channel before reading where the log stands, so nothing published in between is lost.
 */
export function hold<T>(source: Observable<T>): Held<T> {
  const buffered: ObservableNotification<T>[] = [];
  let target: Subscriber<T> | undefined;
  const subscription = source.subscribe({
    next: (value) => (target ? target.next(value) : buffered.push({ kind: 'N', value })),
    error: (error: unknown) => (target ? target.error(error) : buffered.push({ kind: 'E', error })),
    complete: () => (target ? target.complete() : buffered.push({ kind: 'C' })),
  });
  const held = new Observable<T>((subscriber) => {
    if (target) {
      subscriber.error(new Error('A held Observable has a single subscriber'));
      return;
    }
    target = subscriber;
    for (const notification of buffered.splice(0)) {
      if (notification.kind === 'N') {
        subscriber.next(notification.value);
      } else if (notification.kind === 'E') {
        subscriber.error(notification.error);
      } else {
        subscriber.complete();
      }
    }
    return () => subscription.unsubscribe();
  });
  return Object.assign(held, { release: () => subscription.unsubscribe() });
}
