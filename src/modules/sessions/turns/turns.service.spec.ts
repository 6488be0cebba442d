import { DomainError } from 'src/common/errors/domain.error';
import { InvalidStreamEventError } from 'src/protocol/stream-events';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { SessionEventInputDto } from 'src/modules/sessions/dto/session-request.dto';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import {
  factory,
  lockedSessionFactory,
  LockedSessionFake,
  messageData,
  sessionEntityFactory,
} from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

const RUNNER = `runner_${'a'.repeat(32)}`;
const say = (text: string, extra: Partial<SessionEventInputDto> = {}): SessionEventInputDto => ({
  type: 'message',
  data: messageData('user', text),
  ...extra,
});

describe(TurnsService.name, () => {
  let t: TestService<TurnsService>;
  let sut: TurnsService;
  let session: SessionEntity;
  /** The locked session of each unit of work, in order. */
  let units: LockedSessionFake[];
  /** Turns with a terminal event, shared by the units as the turn_terminals table is. */
  let terminals: Set<string>;
  const auth = factory.auth();

  /** Every unit of work runs on a fresh fake of the current row; `null` rows are missing sessions. */
  const lockOn = (row: () => SessionEntity | null) =>
    t.mock(SessionEventsService).locked.mockImplementation(((
      _id: string,
      work: (s: LockedSession) => Promise<unknown>,
    ) => {
      const current = row();
      if (!current) {
        return Promise.resolve(undefined);
      }
      const unit = lockedSessionFactory(current, terminals);
      units.push(unit);
      return work(unit).then((result) => {
        session = unit.row;
        return result;
      });
    }) as never);
  const types = (unit: LockedSessionFake) => unit.events.map((e) => e.type);

  beforeEach(() => {
    t = newTestService(TurnsService);
    t.mock(SessionQuotasService).checkItems.mockResolvedValue();
    // No policies module in the unit tier: the hooks have no gate (every call allowed).
    t.mock(TurnPolicyHooks).get.mockReturnValue(undefined);
    sut = t.sut;
    units = [];
    terminals = new Set();
    session = sessionEntityFactory({ ownerId: auth.userId, runnerId: RUNNER });
    lockOn(() => session);
    t.mock(SessionAccessService).require.mockImplementation(() => Promise.resolve(session));
    t.mock(MetricsService).recordTurn.mockReturnValue(undefined);
    t.mock(SessionsRepository).listBusyChildren.mockResolvedValue([]);
  });

  describe('post', () => {
    it('should refuse an unknown event type with 400 before looking at the session', async () => {
      await expect(sut.post(auth, session.id, { type: 'dance' })).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringContaining("Unknown event type 'dance'"),
      });
      expect(t.mock(SessionAccessService).require).not.toHaveBeenCalled();
    });

    it('should refuse created_by, which only runners may set, with 403', async () => {
      await expect(
        sut.post(auth, session.id, say('hi', { created_by: 'bob' })),
      ).rejects.toMatchObject({ code: 'forbidden' });
    });

    it('should ask for owner level to stop a session, edit level otherwise', async () => {
      t.mock(RunnerLinkService).cancelTurn.mockResolvedValue(true);
      t.mock(RunnerLinkService).closed.mockReturnValue(undefined);
      await sut.post(auth, session.id, { type: 'stop_session' });
      await sut.post(auth, session.id, { type: 'interrupt' });
      expect(t.mock(SessionAccessService).require.mock.calls.map((c) => c[2])).toEqual([
        SessionLevel.Owner,
        SessionLevel.Edit,
      ]);
    });
  });

  describe('start', () => {
    beforeEach(() => {
      t.mock(RunnerLinkService).isReachable.mockReturnValue(true);
      t.mock(RunnerLinkService).noteTurn.mockReturnValue(undefined);
      t.mock(RunnerLinkService).startTurn.mockResolvedValue({ disposition: 'started' });
    });

    it('should start the turn of an idle session: running first, then the input, then turn.start', async () => {
      const ack = await sut.post(auth, session.id, say('hello'));

      const [unit] = units;
      const turnId = unit.patched.currentTurnId as string;
      expect(turnId).toMatch(/^resp_/);
      expect(unit.patched).toEqual({
        liveStatus: 'running',
        lastError: null,
        currentTurnId: turnId,
        cancelRequestedTurnId: null,
      });
      expect(types(unit)).toEqual(['session.status', 'session.input.consumed']);
      expect(unit.events[0]).toMatchObject({ status: 'running', response_id: turnId });
      expect(unit.items).toEqual([
        expect.objectContaining({
          id: ack.item_id,
          response_id: turnId,
          type: 'message',
          created_by: auth.userId,
        }),
      ]);
      // Noted on the connection before the turn is recorded as running (the hello race).
      expect(t.mock(RunnerLinkService).noteTurn).toHaveBeenCalledWith(
        expect.objectContaining({ id: session.id }),
        turnId,
      );
      expect(t.mock(RunnerLinkService).startTurn).toHaveBeenCalledWith(
        expect.objectContaining({ id: session.id }),
        expect.objectContaining({
          session_id: session.id,
          turn_id: turnId,
          input: {
            item_id: ack.item_id,
            role: 'user',
            content: messageData('user', 'hello').content,
          },
          running_published: true,
        }),
      );
      expect(ack).toEqual({ queued: true, item_id: expect.stringMatching(/^msg_/) });
    });

    it('should queue a message behind a running turn without touching the turn', async () => {
      session = { ...session, liveStatus: 'running', currentTurnId: 'resp_current' };

      await sut.post(auth, session.id, say('and then'));

      expect(units[0].patched).toEqual({});
      expect(types(units[0])).toEqual(['session.input.consumed']);
      expect(t.mock(RunnerLinkService).startTurn.mock.calls[0][1]).toMatchObject({
        running_published: false,
      });
    });

    it('should refuse with 503 and store nothing when no runner is reachable', async () => {
      t.mock(RunnerLinkService).isReachable.mockReturnValue(false);

      await expect(sut.post(auth, session.id, say('anyone?'))).rejects.toMatchObject({
        code: 'runner_unavailable',
      });
      expect(units).toEqual([]);
    });

    it('should fail the turn when turn.start is refused, and answer 503', async () => {
      t.mock(RunnerLinkService).startTurn.mockRejectedValue(new Error('runner went away'));

      await expect(sut.post(auth, session.id, say('hello'))).rejects.toMatchObject({
        code: 'runner_unavailable',
        message: expect.stringContaining('The message was saved'),
      });

      const [started, failed] = units;
      const turnId = started.patched.currentTurnId;
      expect(types(failed)).toEqual([
        'response.output_item.done',
        'response.failed',
        'session.status',
      ]);
      expect(failed.events[1]).toMatchObject({
        response: { id: turnId, status: 'failed', error: { code: 'runner_unavailable' } },
      });
      expect(failed.patched).toMatchObject({ liveStatus: 'failed', currentTurnId: null });
      expect(session.lastError).toMatchObject({ code: 'runner_unavailable' });
    });

    it('should answer 404 when the session vanished before its unit of work', async () => {
      lockOn(() => null);
      await expect(sut.post(auth, session.id, say('hello'))).rejects.toMatchObject({
        code: 'not_found',
      });
    });

    it('should refuse client tools without a valid name with 400', async () => {
      await expect(
        sut.post(auth, session.id, say('hi', { tools: [{ type: 'function', function: {} }] })),
      ).rejects.toMatchObject({ code: 'invalid_input' });
      expect(units).toEqual([]);
    });

    it('should store an assistant message as it is, without a runner', async () => {
      t.mock(RunnerLinkService).isReachable.mockReturnValue(false);

      const ack = await sut.post(auth, session.id, {
        type: 'message',
        data: messageData('assistant', 'noted'),
      });

      expect(types(units[0])).toEqual(['response.output_item.done']);
      expect(units[0].items[0]).toMatchObject({ id: ack.item_id, created_by: null });
      expect(units[0].patched).toEqual({});
    });

    it('should store nothing when the response phase denies an assistant message', async () => {
      const gateResponse = jest.fn().mockResolvedValue({ decision: 'deny', reason: 'no PII' });
      t.mock(TurnPolicyHooks).get.mockReturnValue({ gateResponse } as never);

      const ack = await sut.post(auth, session.id, {
        type: 'message',
        data: messageData('assistant', 'my SSN'),
      });

      expect(ack).toEqual({ queued: false, denied: true, reason: 'no PII' });
      expect(gateResponse).toHaveBeenCalledWith(session, messageData('assistant', 'my SSN'));
      expect(units).toEqual([]);
    });

    it('should store the assistant message as the response phase rewrote it', async () => {
      const rewritten = messageData('assistant', '[redacted]');
      t.mock(TurnPolicyHooks).get.mockReturnValue({
        gateResponse: jest.fn().mockResolvedValue({ decision: 'allow', data: rewritten }),
      } as never);

      await sut.post(auth, session.id, { type: 'message', data: messageData('assistant', 'x') });

      expect(units[0].items[0]).toMatchObject({ data: rewritten });
    });

    it('should resolve an approval event through the gate, and refuse a malformed one', async () => {
      const resolveApproval = jest.fn().mockResolvedValue({ queued: false });
      t.mock(TurnPolicyHooks).get.mockReturnValue({ resolveApproval } as never);

      await expect(
        sut.post(auth, session.id, {
          type: 'approval',
          data: { elicitation_id: 'elicit_1', action: 'accept' },
        }),
      ).resolves.toEqual({ queued: false });
      expect(resolveApproval).toHaveBeenCalledWith(auth, session, {
        elicitationId: 'elicit_1',
        action: 'accept',
        content: null,
      });
      await expect(
        sut.post(auth, session.id, { type: 'approval', data: { elicitation_id: 'elicit_1' } }),
      ).rejects.toMatchObject({ code: 'invalid_input' });
    });
  });

  describe('compaction', () => {
    it('should store a compaction under its own response id', async () => {
      await sut.post(auth, session.id, {
        type: 'compaction',
        data: { summary: 'short', last_item_id: 'msg_1', token_count: 12 },
      });
      expect(units[0].items[0]).toMatchObject({
        type: 'compaction',
        response_id: expect.stringMatching(/^compact_/),
      });
    });
  });

  describe('interrupt', () => {
    beforeEach(() => {
      session = { ...session, liveStatus: 'running', currentTurnId: 'resp_1' };
    });

    it('should fence the turn, announce the interrupt and leave the end to the runner', async () => {
      t.mock(RunnerLinkService).cancelTurn.mockResolvedValue(true);

      expect(await sut.post(auth, session.id, { type: 'interrupt' })).toEqual({ queued: false });

      expect(units).toHaveLength(1);
      expect(units[0].patched).toEqual({ cancelRequestedTurnId: 'resp_1' });
      expect(units[0].events[0]).toMatchObject({
        type: 'session.interrupted',
        data: { response_id: 'resp_1' },
      });
      expect(t.mock(RunnerLinkService).cancelTurn.mock.calls[0][1]).toEqual({
        session_id: session.id,
        turn_id: 'resp_1',
        reason: 'user_interrupt',
      });
    });

    it('should end the turn itself when the runner cannot cancel it', async () => {
      t.mock(RunnerLinkService).cancelTurn.mockResolvedValue(false);

      await sut.post(auth, session.id, { type: 'interrupt' });

      const finished = units[1];
      expect(types(finished)).toEqual(['response.incomplete', 'session.status']);
      expect(finished.events[0]).toMatchObject({
        response: { id: 'resp_1', incomplete_details: { reason: 'user_interrupt' } },
      });
      expect(finished.events[1]).toMatchObject({ status: 'idle', response_id: 'resp_1' });
      expect(session).toMatchObject({ liveStatus: 'idle', currentTurnId: null });
    });

    it('should not end a turn that ended meanwhile', async () => {
      t.mock(RunnerLinkService).cancelTurn.mockImplementation(() => {
        session = { ...session, liveStatus: 'idle', currentTurnId: null };
        return Promise.resolve(false);
      });

      await sut.post(auth, session.id, { type: 'interrupt' });

      expect(units[1].events).toEqual([]);
    });

    it('should interrupt its running sub-agent sessions too', async () => {
      const child = sessionEntityFactory({
        ownerId: auth.userId,
        runnerId: RUNNER,
        parentSessionId: session.id,
        liveStatus: 'running',
        currentTurnId: 'resp_child',
      });
      const rows = new Map([
        [session.id, session],
        [child.id, child],
      ]);
      t.mock(SessionEventsService).locked.mockImplementation(((
        id: string,
        work: (s: LockedSession) => Promise<unknown>,
      ) => {
        const unit = lockedSessionFactory(rows.get(id) as SessionEntity, terminals);
        units.push(unit);
        return work(unit);
      }) as never);
      t.mock(SessionsRepository).listBusyChildren.mockImplementation(async (id) =>
        id === session.id ? [child] : [],
      );
      t.mock(RunnerLinkService).cancelTurn.mockResolvedValue(true);

      await sut.post(auth, session.id, { type: 'interrupt' });

      expect(t.mock(RunnerLinkService).cancelTurn.mock.calls.map((c) => c[1])).toEqual([
        { session_id: session.id, turn_id: 'resp_1', reason: 'user_interrupt' },
        { session_id: child.id, turn_id: 'resp_child', reason: 'user_interrupt' },
      ]);
      expect(units.map((u) => [u.id, types(u)])).toEqual([
        [session.id, ['session.interrupted']],
        [child.id, ['session.interrupted']],
      ]);
    });

    it('should close the session on the runner after a stop', async () => {
      t.mock(RunnerLinkService).cancelTurn.mockResolvedValue(true);
      t.mock(RunnerLinkService).closed.mockReturnValue(undefined);

      await sut.post(auth, session.id, { type: 'stop_session' });

      expect(t.mock(RunnerLinkService).cancelTurn.mock.calls[0][1]).toMatchObject({
        reason: 'stop',
      });
      expect(t.mock(RunnerLinkService).closed).toHaveBeenCalledWith(expect.anything(), 'stopped');
    });
  });

  describe('fail', () => {
    it('should fail the turn: response.failed, then failed status with the error kept', async () => {
      const error = { code: 'runner_disconnected', message: 'gone' };
      await sut.fail(session.id, 'resp_9', error);

      expect(types(units[0])).toEqual([
        'response.output_item.done',
        'response.failed',
        'session.status',
      ]);
      // The turn's transcript says why it ended (finding 7: the sweeper left no error item).
      expect(units[0].items).toEqual([
        expect.objectContaining({
          type: 'error',
          response_id: 'resp_9',
          data: { source: 'execution', code: 'runner_disconnected', message: 'gone' },
        }),
      ]);
      expect(units[0].events[2]).toMatchObject({ status: 'failed', error, response_id: 'resp_9' });
      expect(units[0].patched).toEqual({
        liveStatus: 'failed',
        lastError: error,
        currentTurnId: null,
      });
    });

    it('should write no second terminal event for a turn that already ended', async () => {
      terminals.add('resp_9');
      await sut.fail(session.id, 'resp_9', { code: 'runner_disconnected', message: 'gone' });
      expect(types(units[0])).toEqual(['session.status']);
      expect(units[0].items).toEqual([]);
    });

    it('should only report the status when no turn is known', async () => {
      await sut.fail(session.id, null, { code: 'x', message: 'y' });
      expect(types(units[0])).toEqual(['session.status']);
    });
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

  it('should throw domain errors, never raw ones, for client mistakes', async () => {
    const failure = await sut.post(auth, session.id, { type: '' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DomainError);
  });
});
