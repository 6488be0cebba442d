import { MessageEvent } from '@nestjs/common';
import fc from 'fast-check';
import { map, NEVER, Observable, of, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import {
  eventStream,
  EventStreamOptions,
  hold,
  LiveEvent,
  LoggedEvent,
} from 'src/common/sse/event-stream';

interface TestEvent {
  type: string;
  n?: number;
}

/** `type@id`, or `DONE@id`: enough to read a frame sequence at a glance. */
const show = (frame: MessageEvent) =>
  frame.data === '[DONE]' ? `DONE@${frame.id}` : `${frame.type}@${frame.id}`;

const ev = (n: number): TestEvent => ({ type: `e${n}`, n });
const live = (seq: number): LiveEvent<TestEvent> => ({ seq, event: ev(seq) });
const delta: LiveEvent<TestEvent> = { seq: null, event: { type: 'delta' } };

/** A log holding `seqs`; `replay` answers synchronously (or on the given marble). */
function logOf(seqs: number[]) {
  const calls: [number, number][] = [];
  return {
    calls,
    replay: (after: number, upTo: number): Observable<LoggedEvent<TestEvent>> => {
      calls.push([after, upTo]);
      return of(
        ...seqs.filter((s) => s > after && s <= upTo).map((seq) => ({ seq, event: ev(seq) })),
      );
    },
    oldestSeq: () => of(seqs.length ? Math.min(...seqs) : null),
  };
}

describe('eventStream', () => {
  let scheduler: TestScheduler;
  let errors: unknown[];

  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    errors = [];
  });

  const options = (
    overrides: Partial<EventStreamOptions<TestEvent>>,
  ): EventStreamOptions<TestEvent> => ({
    live$: NEVER,
    startSeq: 0,
    lastEventId: null,
    ...logOf([]),
    heartbeat: () => ({ type: 'hb' }),
    reset: () => ({ type: 'reset' }),
    heartbeatMs: 1000,
    end$: NEVER,
    onError: (error) => errors.push(error),
    ...overrides,
  });

  it('should ack with a heartbeat first, then write live events with their seq as id', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const live$ = cold<LiveEvent<TestEvent>>('-a-b-|', { a: live(4), b: live(5) });
      const frames = eventStream(options({ live$, startSeq: 3 })).pipe(map(show));
      expectObservable(frames).toBe('ab-c-(d|)', {
        a: 'hb@3',
        b: 'e4@4',
        c: 'e5@5',
        d: 'DONE@5',
      });
    });
  });

  it('should give transient events the id of the last durable event written', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const live$ = cold<LiveEvent<TestEvent>>('-x-a-x-|', { a: live(8), x: delta });
      const frames = eventStream(options({ live$, startSeq: 7 })).pipe(map(show));
      expectObservable(frames).toBe('ab-c-d-(e|)', {
        a: 'hb@7',
        b: 'delta@7',
        c: 'e8@8',
        d: 'delta@8',
        e: 'DONE@8',
      });
    });
  });

  it('should send one frame object per event to every stream at the same id (serialised once)', () => {
    const event = live(6);
    const framesOf = (startSeq: number) => {
      const frames: MessageEvent[] = [];
      eventStream(options({ live$: of(delta, event), startSeq }))
        .subscribe((frame) => frames.push(frame))
        .unsubscribe();
      return frames;
    };
    const [a, b, behind] = [framesOf(5), framesOf(5), framesOf(4)];
    expect(b[2]).toBe(a[2]);
    expect(a[2]).toEqual({ type: 'e6', id: '6', data: JSON.stringify(ev(6)) });
    // The delta goes out with each stream's own last id: the same object only at the same id.
    expect(b[1]).toBe(a[1]);
    expect(behind[1]).not.toBe(a[1]);
    expect(behind[1].id).toBe('4');
  });

  it('should drop events already written (at or below the last seq)', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const live$ = cold<LiveEvent<TestEvent>>('-a-b-c|', { a: live(3), b: live(4), c: live(4) });
      const frames = eventStream(options({ live$, startSeq: 3 })).pipe(map(show));
      expectObservable(frames).toBe('a--b--(c|)', { a: 'hb@3', b: 'e4@4', c: 'DONE@4' });
    });
  });

  it('should fill a gap from the log before writing an event published out of order', () => {
    const log = logOf([1, 2, 3, 4, 5, 6]);
    scheduler.run(({ cold, expectObservable }) => {
      const live$ = cold<LiveEvent<TestEvent>>('-a 9ms |', { a: live(6) });
      const frames = eventStream(options({ live$, startSeq: 3, ...log })).pipe(map(show));
      expectObservable(frames).toBe('a(bcd) 5ms (e|)', {
        a: 'hb@3',
        b: 'e4@4',
        c: 'e5@5',
        d: 'e6@6',
        e: 'DONE@6',
      });
    });
    expect(log.calls).toEqual([[3, 5]]);
  });

  it('should replay what follows Last-Event-ID, then go live without repeating it', () => {
    const log = logOf([1, 2, 3]);
    scheduler.run(({ cold, expectObservable }) => {
      const live$ = cold<LiveEvent<TestEvent>>('5ms a 4ms b 4ms |', { a: live(3), b: live(4) });
      const frames = eventStream(options({ live$, startSeq: 3, lastEventId: 1, ...log })).pipe(
        map(show),
      );
      expectObservable(frames).toBe('(abc) 5ms d 4ms (e|)', {
        a: 'hb@1',
        b: 'e2@2',
        c: 'e3@3',
        d: 'e4@4',
        e: 'DONE@4',
      });
    });
    expect(log.calls).toEqual([[1, 3]]);
  });

  it('should replay nothing for a Last-Event-ID at or above the current seq', () => {
    const log = logOf([1, 2, 3]);
    scheduler.run(({ expectObservable }) => {
      const frames = eventStream(options({ startSeq: 3, lastEventId: 9, ...log })).pipe(map(show));
      expectObservable(frames, '^ 10ms !').toBe('a', { a: 'hb@3' });
    });
    expect(log.calls).toEqual([]);
  });

  it('should send stream.reset instead of a replay the log can no longer serve', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const live$ = cold<LiveEvent<TestEvent>>('5ms a 4ms |', { a: live(9) });
      const frames = eventStream(
        options({ live$, startSeq: 8, lastEventId: 2, ...logOf([5, 6, 7, 8]) }),
      ).pipe(map(show));
      expectObservable(frames).toBe('(ab) 1ms c 4ms (d|)', {
        a: 'hb@2',
        b: 'reset@8',
        c: 'e9@9',
        d: 'DONE@9',
      });
    });
  });

  it('should send stream.reset when nothing is logged any more', () => {
    scheduler.run(({ expectObservable }) => {
      const frames = eventStream(options({ startSeq: 4, lastEventId: 0 })).pipe(map(show));
      expectObservable(frames, '^ 10ms !').toBe('(ab)', { a: 'hb@0', b: 'reset@4' });
    });
  });

  it('should send a heartbeat after each period of silence, with the last id', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const live$ = cold<LiveEvent<TestEvent>>('1500ms a 2899ms |', { a: live(1) });
      const frames = eventStream(options({ live$ })).pipe(map(show));
      expectObservable(frames).toBe('a 999ms b 499ms c 999ms d 999ms e 899ms (f|)', {
        a: 'hb@0',
        b: 'hb@0',
        c: 'e1@1',
        d: 'hb@1',
        e: 'hb@1',
        f: 'DONE@1',
      });
    });
  });

  it('should end with [DONE] at once when told to (server shutdown)', () => {
    scheduler.run(({ cold, hot, expectObservable }) => {
      const live$ = cold<LiveEvent<TestEvent>>('-a------b', { a: live(1), b: live(2) });
      const end$ = hot('---x');
      const frames = eventStream(options({ live$, end$ })).pipe(map(show));
      expectObservable(frames).toBe('ab-(c|)', { a: 'hb@0', b: 'e1@1', c: 'DONE@1' });
    });
  });

  it('should end without [DONE] after a failure, and report it', () => {
    const failure = new Error('log unavailable');
    scheduler.run(({ cold, expectObservable }) => {
      const live$ = cold<LiveEvent<TestEvent>>('-a--b', { a: live(1), b: live(5) });
      const replay = () => cold<LoggedEvent<TestEvent>>('-#', undefined, failure);
      const frames = eventStream(options({ live$, replay })).pipe(map(show));
      expectObservable(frames).toBe('ab---|', { a: 'hb@0', b: 'e1@1' });
    });
    expect(errors).toEqual([failure]);
  });

  it('should keep live events waiting while a slow replay runs', () => {
    scheduler.run(({ cold, hot, expectObservable }) => {
      const live$ = hot<LiveEvent<TestEvent>>('^-a-x|', { a: live(4), x: delta });
      const replay = () =>
        cold<LoggedEvent<TestEvent>>('---a-b|', {
          a: { seq: 2, event: ev(2) },
          b: { seq: 3, event: ev(3) },
        });
      const frames = eventStream(
        options({
          live$: hold(live$),
          startSeq: 3,
          lastEventId: 1,
          replay,
          oldestSeq: () => of(1),
        }),
      ).pipe(map(show));
      expectObservable(frames).toBe('a--b-c(def|)', {
        a: 'hb@1',
        b: 'e2@2',
        c: 'e3@3',
        d: 'e4@4',
        e: 'delta@4',
        f: 'DONE@4',
      });
    });
  });
});

describe('eventStream, local and bus deliveries interleaved', () => {
  interface Step {
    /** `local`: this process (its bus hands the message over at publish); `remote`: a replica. */
    by: 'local' | 'remote';
    durable: boolean;
    /** Ticks after the next one until a remote message arrives (its bus keeps publish order). */
    delay: number;
  }

  /**
   * Two replicas publish on one session's channel, one step per tick; a durable step commits
   * with the next log seq first. The local replica's messages reach the stream when published,
   * the remote one's `1 + delay` ticks later (in its order); the stream connects at `connectAt` and
   * its log reads answer `1 + readDelay` ticks later. Returns the frames and what it must show.
   */
  function simulate(steps: Step[], connectAt: number, readDelay: number) {
    const log: LoggedEvent<TestEvent>[] = [];
    const source = new Subject<LiveEvent<TestEvent>>();
    const arrivals = new Map<number, LiveEvent<TestEvent>[]>();
    const reads = new Map<number, (() => void)[]>();
    const at = <T>(map: Map<number, T[]>, tick: number, item: T) =>
      map.set(tick, [...(map.get(tick) ?? []), item]);
    const published: { by: Step['by']; message: LiveEvent<TestEvent> }[] = [];
    let tick = 0;
    let lastRemote = 0;
    let live: ReturnType<typeof hold<LiveEvent<TestEvent>>> | undefined;
    let startSeq = 0;
    const frames: MessageEvent[] = [];
    let subscription: { unsubscribe(): void } | undefined;
    const connect = () => {
      live = hold(source);
      startSeq = log.length;
      subscription = eventStream<TestEvent>({
        live$: live,
        startSeq,
        lastEventId: null,
        replay: (after, upTo) =>
          new Observable<LoggedEvent<TestEvent>>((subscriber) => {
            at(reads, tick + 1 + readDelay, () => {
              log.filter((e) => e.seq > after && e.seq <= upTo).forEach((e) => subscriber.next(e));
              subscriber.complete();
            });
          }),
        oldestSeq: () => of(log.length ? 1 : null),
        heartbeat: () => ({ type: 'hb' }),
        reset: () => ({ type: 'reset' }),
        heartbeatMs: 3_600_000,
        end$: NEVER,
        onError: (error) => {
          throw error;
        },
      }).subscribe((frame) => frames.push(frame));
    };
    const pending = () => [...arrivals.keys(), ...reads.keys()].some((k) => k >= tick);
    for (; tick <= steps.length || (pending() && tick < 100_000); tick++) {
      for (const message of arrivals.get(tick) ?? []) {
        source.next(message);
      }
      for (const read of reads.get(tick) ?? []) {
        read();
      }
      if (tick === Math.min(connectAt, steps.length)) {
        connect();
      }
      const step = steps[tick];
      if (!step) {
        continue;
      }
      let message: LiveEvent<TestEvent>;
      if (step.durable) {
        const seq = log.length + 1;
        log.push({ seq, event: ev(seq) });
        message = live$(seq);
      } else {
        message = { seq: null, event: { type: `t${tick}` } };
      }
      published.push({ by: step.by, message });
      if (step.by === 'local') {
        source.next(message);
      } else {
        lastRemote = Math.max(lastRemote, tick + 1 + step.delay);
        at(arrivals, lastRemote, message);
      }
    }
    subscription?.unsubscribe();
    return { frames, log, startSeq, published, connectTick: Math.min(connectAt, steps.length) };
  }
  const live$ = (seq: number): LiveEvent<TestEvent> => ({ seq, event: ev(seq) });

  it('should write every durable event once, in log order, and each transient after its publisher’s earlier durable events', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            by: fc.constantFrom<Step['by']>('local', 'remote'),
            durable: fc.boolean(),
            delay: fc.nat(6),
          }),
          { maxLength: 40 },
        ),
        fc.nat(45),
        fc.nat(3),
        (steps, connectAt, readDelay) => {
          const { frames, log, startSeq, published } = simulate(steps, connectAt, readDelay);
          const written = frames.slice(1).map((f) => f.type as string);
          // Every durable event after the connect point, once each, in seq order.
          const durables = written.filter((t) => t.startsWith('e')).map((t) => Number(t.slice(1)));
          expect(durables).toEqual(log.filter((e) => e.seq > startSeq).map((e) => e.seq));
          // Every frame carries the last durable seq written on this connection.
          let lastSeq = startSeq;
          for (const frame of frames) {
            if (frame.type?.startsWith('e')) {
              lastSeq = Number(frame.type.slice(1));
            }
            expect(frame.id).toBe(String(lastSeq));
          }
          // Transients: none twice; per publisher in publish order, after its earlier durables.
          const transients = written.filter((t) => t.startsWith('t'));
          expect(new Set(transients).size).toBe(transients.length);
          for (const by of ['local', 'remote'] as const) {
            const mine = published.filter((p) => p.by === by);
            const order = mine.map((p) => p.message.event.type);
            const seen = transients.filter((t) => order.includes(t));
            expect(seen).toEqual(order.filter((t) => seen.includes(t)));
            for (const t of seen) {
              const before = mine.slice(0, order.indexOf(t));
              for (const { message } of before) {
                if (message.seq !== null && message.seq > startSeq) {
                  expect(written.indexOf(message.event.type)).toBeLessThan(written.indexOf(t));
                }
              }
            }
          }
          // A local transient published after the connect is always written.
          const localTransients = published.filter(
            (p) => p.by === 'local' && p.message.seq === null,
          );
          for (const { message } of localTransients) {
            if (Number(message.event.type.slice(1)) >= Math.min(connectAt, steps.length)) {
              expect(transients).toContain(message.event.type);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('hold', () => {
  it('should keep what the source emits before the one subscriber arrives', () => {
    const source = new Subject<number>();
    const held = hold(source);
    source.next(1);
    source.next(2);
    const got: number[] = [];
    const subscription = held.subscribe((n) => got.push(n));
    source.next(3);
    expect(got).toEqual([1, 2, 3]);
    subscription.unsubscribe();
    expect(source.observed).toBe(false);
  });

  it('should pass on a completion that happened while waiting', () => {
    const source = new Subject<number>();
    const held = hold(source);
    source.next(1);
    source.complete();
    const got: unknown[] = [];
    held.subscribe({ next: (n) => got.push(n), complete: () => got.push('done') });
    expect(got).toEqual([1, 'done']);
  });

  it('should leave the source on release', () => {
    const source = new Subject<number>();
    hold(source).release();
    expect(source.observed).toBe(false);
  });
});
