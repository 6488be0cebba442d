import { Methods, SessionEventParams } from 'src/protocol/runner-protocol';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository, UnitOptions } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { RunnerEventIngestService } from 'src/modules/sessions/turns/runner-event-ingest.service';
import { TurnEventsService } from 'src/modules/sessions/turns/turn-events.service';
import { lockedSessionFactory, sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

const RUNNER = `runner_${'b'.repeat(32)}`;

/** A runner connection that records what the server sends it. */
function fakeConnection(ownerId: string) {
  const state = { isOpen: true };
  return {
    runnerId: RUNNER,
    ownerId,
    get isOpen(): boolean {
      return state.isOpen;
    },
    notify: jest.fn<void, [string, unknown]>(),
    close: jest.fn<void, [number, string]>(() => (state.isOpen = false)),
    holdReading: jest.fn(),
    releaseReading: jest.fn(),
  };
}

/** A durable event of turn resp_1; `response.*` events carry `{id: resp_1, status}`. */
const turnEvent = (
  sessionId: string,
  seq: number,
  type: SessionEventParams['event']['type'],
  event: Record<string, unknown> = {},
): SessionEventParams => ({
  session_id: sessionId,
  seq,
  durable: true,
  turn_id: 'resp_1',
  event: { type, ...event } as SessionEventParams['event'],
});
const response = (status: string) => ({
  response: { id: 'resp_1', status, created_at: 0, model: 'echo' },
});
const created = (sessionId: string, seq: number): SessionEventParams =>
  turnEvent(sessionId, seq, 'response.created', response('in_progress'));

describe(RunnerEventIngestService.name, () => {
  let t: TestService<RunnerEventIngestService>;
  let session: SessionEntity;
  let connection: ReturnType<typeof fakeConnection>;
  /** PostgreSQL's WAL as the fake sees it: each unit's commit ends 50 bytes further on. */
  let wal: { insert: bigint; flush: bigint; incarnation: string };
  let units: UnitOptions[];

  const setUp = (env: Record<string, string>) => {
    t = newTestService(RunnerEventIngestService, { env });
    session = sessionEntityFactory({ runnerId: RUNNER, eventSeq: 0 });
    connection = fakeConnection(session.ownerId);
    wal = { insert: 100n, flush: 100n, incarnation: 'pg-1' };
    units = [];
    t.mock(SessionsRepository).walPositions.mockImplementation(() => Promise.resolve({ ...wal }));
    t.mock(TurnEventsService).applyRunnerEvent.mockResolvedValue(undefined);
    t.mock(SessionEventsService).locked.mockImplementation(((
      _id: string,
      work: (s: LockedSession) => Promise<unknown>,
      options: UnitOptions,
    ) => {
      units.push(options);
      return work(lockedSessionFactory(session)).then((result) => {
        wal.insert += 50n;
        return result;
      });
    }) as never);
  };
  const send = (params: SessionEventParams) =>
    t.sut.onSessionEvent(connection as unknown as RunnerConnection, params);
  const acks = () => connection.notify.mock.calls.filter(([m]) => m === Methods.sessionAck);

  // The worker starts on process.nextTick (real), its timers (acks, the WAL poll) are faked.
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick'] }));
  afterEach(() => jest.useRealTimers());

  describe('with asynchronous ingest commits', () => {
    beforeEach(async () => {
      setUp({ OMNIGENT_INGEST_ASYNC_COMMIT: 'true' });
      t.sut.onApplicationBootstrap();
      await jest.advanceTimersByTimeAsync(0);
    });

    it('should acknowledge an event only once the WAL is flushed past its commit', async () => {
      send(created(session.id, 1));
      await jest.advanceTimersByTimeAsync(500);
      expect(units).toEqual([{ asyncCommit: true, optimistic: true }]);
      expect(t.mock(TurnEventsService).applyRunnerEvent).toHaveBeenCalledTimes(1);
      // Committed (at 150) and published, but the flush stands at 100: no ack yet.
      expect(acks()).toEqual([]);
      wal.flush = 149n;
      await jest.advanceTimersByTimeAsync(100);
      expect(acks()).toEqual([]);
      wal.flush = 150n;
      await jest.advanceTimersByTimeAsync(100);
      expect(acks()).toEqual([[Methods.sessionAck, { session_id: session.id, seq: 1 }]]);
      expect(connection.close).not.toHaveBeenCalled();
    });

    it('should close the channel instead of acknowledging when the flush cannot be read', async () => {
      t.mock(SessionsRepository).walPositions.mockRejectedValue(new Error('connection lost'));
      send(created(session.id, 1));
      await jest.advanceTimersByTimeAsync(500);
      expect(acks()).toEqual([]);
      expect(connection.close).toHaveBeenCalledWith(1011, expect.any(String));
    });

    it('should not acknowledge a commit PostgreSQL may have lost in a restart', async () => {
      send(created(session.id, 1));
      await jest.advanceTimersByTimeAsync(50); // committed at 150, not flushed
      wal.incarnation = 'pg-2'; // crash: recovery goes on from 100, new WAL soon passes 150
      wal.insert = 400n;
      wal.flush = 400n;
      await jest.advanceTimersByTimeAsync(500);
      expect(acks()).toEqual([]);
      expect(connection.close).toHaveBeenCalledWith(1011, expect.any(String));
    });

    it('should answer durable() only once earlier commits are flushed', async () => {
      wal.insert = 400n;
      let durable = false;
      void t.sut.durable().then(() => (durable = true));
      await jest.advanceTimersByTimeAsync(100);
      expect(durable).toBe(false);
      wal.flush = 400n;
      await jest.advanceTimersByTimeAsync(100);
      expect(durable).toBe(true);
    });
  });

  describe('with synchronous ingest commits (the default)', () => {
    beforeEach(() => setUp({}));

    it('should relay the deltas after a durable unit with the row it committed, not a read', async () => {
      send(created(session.id, 1));
      send({
        session_id: session.id,
        seq: 2,
        durable: false,
        turn_id: 'resp_1',
        event: { type: 'response.output_text.delta', delta: 'hi', message_id: 'msg_1', index: 0 },
      });
      await jest.advanceTimersByTimeAsync(0);
      expect(t.mock(TurnEventsService).relayTransient).toHaveBeenCalledWith(
        expect.objectContaining({ id: session.id, runnerId: RUNNER }),
        'resp_1',
        expect.objectContaining({ type: 'response.output_text.delta', delta: 'hi' }),
      );
      // The first delta of a turn does not wait for a read of the session after the unit.
      expect(t.mock(SessionsRepository).getById).not.toHaveBeenCalled();
    });

    it('should start one unit for the frames read together on the next tick, before any macrotask', async () => {
      const inProgress = turnEvent(session.id, 2, 'response.in_progress', response('in_progress'));
      send(created(session.id, 1));
      send(inProgress);
      expect(units).toEqual([]);
      // setImmediate is faked and never runs here: the unit does not wait for the check phase
      // (after the POST's 202 when turn.start's answer came in the same read).
      await new Promise((resolve) => process.nextTick(resolve));
      expect(units).toEqual([{ asyncCommit: false, optimistic: true }]);
      await jest.advanceTimersByTimeAsync(0);
      expect(units).toHaveLength(1);
      expect(t.mock(TurnEventsService).applyRunnerEvent).toHaveBeenCalledTimes(2);
    });

    it("should let the deltas' frames leave before it sends the next unit", async () => {
      const delta: SessionEventParams = {
        session_id: session.id,
        seq: 2,
        durable: false,
        turn_id: 'resp_1',
        event: { type: 'response.output_text.delta', delta: 'hi', message_id: 'msg_1', index: 0 },
      };
      const completed = turnEvent(session.id, 3, 'response.completed', response('completed'));
      send(created(session.id, 1));
      send(delta);
      send(completed);
      await new Promise((resolve) => process.nextTick(resolve));
      for (let i = 0; i < 20; i++) {
        await Promise.resolve();
      }
      // The frames of a stream are written at the end of the turn (setImmediate, faked here):
      // the unit after the delta waits for them.
      expect(t.mock(TurnEventsService).relayTransient).toHaveBeenCalledTimes(1);
      expect(units).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(0);
      expect(units).toHaveLength(2);
      expect(t.mock(TurnEventsService).applyRunnerEvent).toHaveBeenCalledTimes(2);
    });

    it('should ask for optimistic units (the repository locks when the work needs it)', async () => {
      const item = turnEvent(session.id, 2, 'response.output_item.done', {
        item: { id: 'msg_1', type: 'message', role: 'assistant', content: [] },
      });
      const completed = turnEvent(session.id, 3, 'response.completed', response('completed'));
      send(created(session.id, 1));
      await jest.advanceTimersByTimeAsync(10);
      send(item);
      await jest.advanceTimersByTimeAsync(10);
      send(completed);
      await jest.advanceTimersByTimeAsync(10);
      expect(units.map((u) => u.optimistic)).toEqual([true, true, true]);
    });

    it('should commit synchronously and acknowledge without reading the WAL', async () => {
      send(created(session.id, 1));
      await jest.advanceTimersByTimeAsync(500);
      expect(units).toEqual([{ asyncCommit: false, optimistic: true }]);
      expect(acks()).toEqual([[Methods.sessionAck, { session_id: session.id, seq: 1 }]]);
      expect(t.mock(SessionsRepository).walPositions).not.toHaveBeenCalled();
    });
  });
});
