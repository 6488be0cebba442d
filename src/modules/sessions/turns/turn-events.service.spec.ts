import { InvalidStreamEventError } from 'src/protocol/stream-events';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { TurnEventsService } from 'src/modules/sessions/turns/turn-events.service';
import { lockedSessionFactory, LockedSessionFake, sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

describe(TurnEventsService.name, () => {
  let t: TestService<TurnEventsService>;
  let sut: TurnEventsService;
  let session: SessionEntity;
  /** Turns with a terminal event, shared by the units as the turn_terminals table is. */
  let terminals: Set<string>;
  const types = (unit: LockedSessionFake) => unit.events.map((e) => e.type);

  beforeEach(() => {
    t = newTestService(TurnEventsService);
    sut = t.sut;
    terminals = new Set();
    session = sessionEntityFactory({ runnerId: `runner_${'a'.repeat(32)}` });
    t.mock(MetricsService).recordTurn.mockReturnValue(undefined);
  });

  describe('relayTransient', () => {
    const delta = { type: 'response.output_text.delta' as const, delta: 'hel' };

    it('should relay a delta of the current turn', () => {
      t.mock(SessionEventsService).publishTransient.mockReturnValue(undefined);
      sut.relayTransient(session, 'resp_1', delta);
      expect(t.mock(SessionEventsService).publishTransient).toHaveBeenCalledWith(session.id, delta);
    });

    it('should fence the trailing deltas of an interrupted turn', () => {
      sut.relayTransient({ ...session, cancelRequestedTurnId: 'resp_1' }, 'resp_1', delta);
      expect(t.mock(SessionEventsService).publishTransient).not.toHaveBeenCalled();
    });
  });

  describe('applyRunnerEvent', () => {
    let unit: LockedSessionFake;
    const apply = (event: Record<string, unknown>, turnId: string | null = 'resp_1') =>
      sut.applyRunnerEvent(unit, event as { type: string }, turnId);

    beforeEach(() => {
      unit = lockedSessionFactory(
        { ...session, liveStatus: 'running', currentTurnId: 'resp_1' },
        terminals,
      );
    });

    it('should record running and clear the last error', async () => {
      unit = lockedSessionFactory({ ...session, lastError: { code: 'x', message: 'y' } });
      await apply({ type: 'session.status', status: 'running' });
      expect(unit.patched).toEqual({ liveStatus: 'running', lastError: null });
      expect(unit.events[0]).toMatchObject({ type: 'session.status', conversation_id: session.id });
    });

    it('should keep a failure as the last error and end the turn', async () => {
      await apply({ type: 'session.status', status: 'failed', error: { message: 'boom' } });
      expect(unit.patched).toEqual({
        liveStatus: 'failed',
        lastError: { code: 'runner_error', message: 'boom' },
        currentTurnId: null,
        cancelRequestedTurnId: null,
      });
    });

    it('should refuse a status the session cannot have', async () => {
      await expect(apply({ type: 'session.status', status: 'launching' })).rejects.toThrow(
        InvalidStreamEventError,
      );
      expect(unit.events).toEqual([]);
    });

    it('should take the turn from response.created', async () => {
      await apply({ type: 'response.created', response: { id: 'resp_2', status: 'in_progress' } });
      expect(unit.patched).toEqual({ currentTurnId: 'resp_2' });
      expect(unit.events[0]).toMatchObject({ response: { id: 'resp_2', object: 'response' } });
    });

    it('should store an output item under its turn and relay the stored item', async () => {
      const item = {
        id: 'msg_0123456789abcdef0123',
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'hi' }],
      };
      await apply({ type: 'response.output_item.done', item });
      expect(unit.items).toEqual([
        expect.objectContaining({ id: item.id, response_id: 'resp_1', created_by: null }),
      ]);
      expect(unit.events).toEqual([
        expect.objectContaining({
          type: 'response.output_item.done',
          item: expect.objectContaining({ id: item.id, response_id: 'resp_1', role: 'assistant' }),
        }),
      ]);
    });

    it('should drop an item whose id belongs to another item, and its event', async () => {
      unit.conflictOnUpsert();
      const item = {
        id: 'msg_0123456789abcdef0123',
        type: 'message',
        role: 'assistant',
        content: [],
      };
      await apply({ type: 'response.output_item.done', item });
      expect(unit.events).toEqual([]);
      expect(unit.items).toEqual([]);
    });

    it('should end the turn, keep its token count and usage and add an error item on response.failed', async () => {
      await apply({
        type: 'response.failed',
        response: {
          id: 'resp_1',
          status: 'failed',
          usage: { input_tokens: 3, output_tokens: 4 },
          error: { code: 'model_error', message: 'no' },
        },
      });
      expect(unit.patched).toEqual({
        currentTurnId: null,
        lastTotalTokens: 7,
        // No cost reported: the cost policies count these tokens as unpriced.
        usageTotals: expect.objectContaining({ total_tokens: 7, unpriced_tokens: 7, cost_usd: 0 }),
      });
      expect(unit.items).toEqual([
        expect.objectContaining({
          type: 'error',
          response_id: 'resp_1',
          data: { source: 'execution', code: 'model_error', message: 'no' },
        }),
      ]);
      expect(types(unit)).toEqual(['response.output_item.done', 'response.failed']);
    });

    it("should drop the runner's terminal event of a turn the server already failed", async () => {
      // SIGTERM restart on PGlite reported response.failed and then response.completed.
      terminals.add('resp_1');
      await apply({ type: 'response.completed', response: { id: 'resp_1', status: 'completed' } });
      expect(unit.events).toEqual([]);
      expect(unit.patched).toEqual({ currentTurnId: null });
    });

    it('should relay only the first of two terminal events of one turn', async () => {
      await apply({ type: 'response.completed', response: { id: 'resp_1', status: 'completed' } });
      await apply({ type: 'response.failed', response: { id: 'resp_1', status: 'failed' } });
      expect(types(unit)).toEqual(['response.completed']);
    });

    it('should leave another turn alone when a response ends', async () => {
      await apply({ type: 'response.completed', response: { id: 'resp_0', status: 'completed' } });
      expect(unit.patched).toEqual({});
      expect(types(unit)).toEqual(['response.completed']);
    });

    it('should never relay the events the server owns', async () => {
      await apply({ type: 'session.interrupted', data: { requested_at: 1 } });
      await apply({ type: 'response.elicitation_resolved', elicitation_id: 'elicit_1' });
      expect(unit.events).toEqual([]);
      expect(unit.patched).toEqual({});
    });

    it('should refuse an unknown event type and stream.reset', async () => {
      await expect(apply({ type: 'response.teleported' })).rejects.toThrow(InvalidStreamEventError);
      await expect(apply({ type: 'stream.reset' })).rejects.toThrow(InvalidStreamEventError);
    });

    it('should relay other events as they are', async () => {
      await apply({ type: 'session.title', title: 'New title' });
      expect(unit.events).toEqual([
        {
          type: 'session.title',
          title: 'New title',
          conversation_id: session.id,
          sequence_number: null,
        },
      ]);
    });
  });
});
