import { MessageEvent } from '@nestjs/common';
import {
  catchError,
  concat,
  concatMap,
  connect,
  defer,
  dematerialize,
  EMPTY,
  endWith,
  ignoreElements,
  map,
  materialize,
  merge,
  MonoTypeOperatorFunction,
  Observable,
  ObservableInput,
  ObservableNotification,
  of,
  startWith,
  Subscriber,
  switchMap,
  takeUntil,
  timer,
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

    const frame = (event: E, id = last): MessageEvent => ({
      type: event.type,
      id: String(id),
      data: JSON.stringify(event),
    });
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

    return concat(
      concat(
        defer(() => of(frame(options.heartbeat()))),
        resume$,
        live$,
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

/** Adds `heartbeat()` after every `ms` without a value; stops with the source. */
export function heartbeatAfterSilence<T>(
  ms: number,
  heartbeat: () => T,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    source.pipe(
      connect((shared) =>
        merge(
          shared,
          shared.pipe(
            startWith(null),
            switchMap(() => timer(ms, ms)),
            map(() => heartbeat()),
            takeUntil(shared.pipe(ignoreElements(), endWith(null))),
          ),
        ),
      ),
    );
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
  let target: Subscriber<ObservableNotification<T>> | undefined;
  const subscription = source
    .pipe(materialize())
    .subscribe((notification) =>
      target ? target.next(notification) : buffered.push(notification),
    );
  const held = new Observable<ObservableNotification<T>>((subscriber) => {
    if (target) {
      subscriber.error(new Error('A held Observable has a single subscriber'));
      return;
    }
    target = subscriber;
    for (const notification of buffered.splice(0)) {
      subscriber.next(notification);
    }
    return () => subscription.unsubscribe();
  }).pipe(dematerialize());
  return Object.assign(held, { release: () => subscription.unsubscribe() });
}
