import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { SessionEventInputDto } from 'src/modules/sessions/dto/session-request.dto';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionError } from 'src/modules/sessions/sessions.errors';
import { UnitOptions } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnInterruptService } from 'src/modules/sessions/turns/turn-interrupt.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import { RequestGateResult, TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
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
  /** The item count a unit that asks for it reads with the locked row. */
  let itemCount: number;
  const auth = factory.auth();

  /** Every unit of work runs on a fresh fake of the current row; `null` rows are missing sessions. */
  const lockOn = (row: () => SessionEntity | null) =>
    t.mock(SessionEventsService).locked.mockImplementation(((
      _id: string,
      work: (s: LockedSession) => Promise<unknown>,
      options?: UnitOptions,
    ) => {
      const current = row();
      if (!current) {
        return Promise.resolve(undefined);
      }
      const unit = lockedSessionFactory(current, terminals, options?.countItems ? itemCount : null);
      units.push(unit);
      return work(unit).then((result) => {
        session = unit.row;
        return result;
      });
    }) as never);
  const types = (unit: LockedSessionFake) => unit.events.map((e) => e.type);
  /** Whether a unit of work wrote anything (a unit that did not commits nothing). */
  const wrote = (unit: LockedSessionFake) =>
    unit.events.length > 0 || unit.items.length > 0 || Object.keys(unit.patched).length > 0;

  beforeEach(() => {
    t = newTestService(TurnsService);
    t.mock(SessionQuotasService).checkItems.mockReturnValue(undefined);
    // No policies module in the unit tier: the hooks have no gate (every call allowed).
    t.mock(TurnPolicyHooks).get.mockReturnValue(undefined);
    sut = t.sut;
    units = [];
    terminals = new Set();
    itemCount = 0;
    session = sessionEntityFactory({ ownerId: auth.userId, runnerId: RUNNER });
    lockOn(() => session);
    t.mock(SessionAccessService).require.mockImplementation(() => Promise.resolve(session));
    // The access decision on a row the caller read (here: the owner's own session).
    t.mock(SessionAccessService).check.mockImplementation(((
      _auth: unknown,
      id: string,
      row: SessionEntity | null,
    ) => {
      if (!row) {
        throw new DomainError(ErrorCode.NotFound, `Session ${id} does not exist`);
      }
      return row;
    }) as never);
    t.mock(SessionAccessService).requireWithItemCount.mockImplementation(() =>
      Promise.resolve({ session, itemCount: 0 }),
    );
    t.mock(MetricsService).recordTurn.mockReturnValue(undefined);
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

    it('should check the item count the access check read, once access is granted', async () => {
      t.mock(SessionAccessService).requireWithItemCount.mockResolvedValue({
        session,
        itemCount: 7,
      });
      t.mock(SessionQuotasService).checkItems.mockImplementation(() => {
        throw SessionError.quota('Item quota reached');
      });
      const compaction = { summary: 'short', last_item_id: 'msg_1', token_count: 12 };
      await expect(
        sut.post(auth, session.id, { type: 'compaction', data: compaction }),
      ).rejects.toMatchObject({ code: 'quota_exceeded' });
      // One statement: no separate access read, no separate count.
      expect(t.mock(SessionAccessService).require).not.toHaveBeenCalled();
      expect(t.mock(SessionQuotasService).checkItems).toHaveBeenCalledWith(7);
      expect(t.mock(SessionEventsService).locked).not.toHaveBeenCalled();
    });

    it('should answer a refused access check, and not look at the item quota', async () => {
      t.mock(SessionAccessService).requireWithItemCount.mockRejectedValue(
        new DomainError(ErrorCode.NotFound, 'Session does not exist'),
      );
      await expect(
        sut.post(auth, session.id, { type: 'compaction', data: { summary: 'x' } }),
      ).rejects.toMatchObject({ code: 'not_found' });
      expect(t.mock(SessionQuotasService).checkItems).not.toHaveBeenCalled();
    });

    it('should ask for owner level to stop a session, edit level otherwise', async () => {
      t.mock(TurnInterruptService).interrupt.mockResolvedValue({ queued: false });
      await sut.post(auth, session.id, { type: 'stop_session' });
      await sut.post(auth, session.id, { type: 'interrupt' });
      expect(t.mock(SessionAccessService).require.mock.calls.map((c) => c[2])).toEqual([
        SessionLevel.Owner,
        SessionLevel.Edit,
      ]);
      expect(t.mock(TurnInterruptService).interrupt.mock.calls).toEqual([
        [session, 'stop'],
        [session, 'user_interrupt'],
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
      // The message's unit ended without writing (a runner not connected here: today's path).
      expect(units.filter(wrote)).toEqual([]);
      expect(t.mock(RunnerLinkService).noteTurn).not.toHaveBeenCalled();
    });

    describe('a user message checked and recorded under the row lock', () => {
      const gate = (open: boolean, decision: RequestGateResult = { decision: 'allow' }) => {
        const hooks = {
          requestGateIsOpen: jest.fn().mockReturnValue(open),
          gateRequest: jest.fn().mockResolvedValue(decision),
        };
        t.mock(TurnPolicyHooks).get.mockReturnValue(hooks as never);
        return hooks;
      };

      it('should check access and the quota on the locked row, with no read before it', async () => {
        itemCount = 41;
        const hooks = gate(true);

        await sut.post(auth, session.id, say('hello'));

        expect(t.mock(SessionAccessService).requireWithItemCount).not.toHaveBeenCalled();
        expect(t.mock(SessionAccessService).require).not.toHaveBeenCalled();
        expect(t.mock(SessionEventsService).locked).toHaveBeenCalledTimes(1);
        expect(t.mock(SessionEventsService).locked.mock.calls[0][2]).toEqual({
          countItems: true,
          optimistic: true,
        });
        expect(t.mock(SessionAccessService).check).toHaveBeenCalledWith(
          auth,
          session.id,
          expect.objectContaining({ id: session.id }),
          SessionLevel.Edit,
        );
        expect(t.mock(SessionQuotasService).checkItems).toHaveBeenCalledWith(41);
        expect(hooks.requestGateIsOpen).toHaveBeenCalledWith(
          expect.objectContaining({ id: session.id }),
        );
        expect(hooks.gateRequest).not.toHaveBeenCalled();
        expect(types(units[0])).toEqual(['session.status', 'session.input.consumed']);
      });

      it('should answer 404, then 403, then the quota, each before anything is written', async () => {
        lockOn(() => null);
        await expect(sut.post(auth, session.id, say('hi'))).rejects.toMatchObject({
          code: 'not_found',
          message: `Session ${session.id} does not exist`,
        });

        lockOn(() => session);
        t.mock(SessionAccessService).check.mockImplementationOnce(() => {
          throw new DomainError(ErrorCode.Forbidden, 'needs edit permission');
        });
        t.mock(SessionQuotasService).checkItems.mockImplementation(() => {
          throw SessionError.quota('Item quota reached');
        });
        await expect(sut.post(auth, session.id, say('hi'))).rejects.toMatchObject({
          code: 'forbidden',
        });
        expect(t.mock(SessionQuotasService).checkItems).not.toHaveBeenCalled();

        await expect(sut.post(auth, session.id, say('hi'))).rejects.toMatchObject({
          code: 'quota_exceeded',
        });
        expect(units.filter(wrote)).toEqual([]);
        expect(t.mock(RunnerLinkService).noteTurn).not.toHaveBeenCalled();
        expect(t.mock(RunnerLinkService).startTurn).not.toHaveBeenCalled();
      });

      it('should answer a 422 after the access check and the quota, as before', async () => {
        t.mock(SessionAccessService).requireWithItemCount.mockRejectedValue(
          new DomainError(ErrorCode.NotFound, 'Session does not exist'),
        );
        const bad = { type: 'message', data: { role: 'user', content: 'not a list' } };
        await expect(sut.post(auth, session.id, bad)).rejects.toMatchObject({
          code: 'not_found',
        });
        // created_by (403 after access) takes the same path as before.
        await expect(
          sut.post(auth, session.id, say('hi', { created_by: 'bob' })),
        ).rejects.toMatchObject({ code: 'not_found' });
        expect(units).toEqual([]);
      });

      it('should end the unit without writing and gate the message as before when the gate cannot tell at once', async () => {
        const hooks = gate(false, { decision: 'ask', elicitation_id: 'elicit_1' });

        const ack = await sut.post(auth, session.id, say('hello'));

        expect(ack).toEqual({ queued: false, elicitation_id: 'elicit_1' });
        expect(units).toHaveLength(1);
        expect(wrote(units[0])).toBe(false);
        expect(hooks.gateRequest).toHaveBeenCalledWith(
          auth,
          expect.objectContaining({ id: session.id }),
          { data: messageData('user', 'hello'), createdBy: auth.userId },
        );
        expect(t.mock(RunnerLinkService).noteTurn).not.toHaveBeenCalled();
        // The access check and the quota were the unit's; no read repeats them.
        expect(t.mock(SessionAccessService).requireWithItemCount).not.toHaveBeenCalled();
      });

      it('should record the message in a second unit when the gate, asked, allows it', async () => {
        gate(false);

        const ack = await sut.post(auth, session.id, say('hello'));

        expect(units.map(wrote)).toEqual([false, true]);
        expect(types(units[1])).toEqual(['session.status', 'session.input.consumed']);
        expect(t.mock(RunnerLinkService).startTurn.mock.calls[0][1]).toMatchObject({
          turn_id: units[1].patched.currentTurnId,
          input: { item_id: ack.item_id },
          running_published: true,
        });
      });
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

  it('should throw domain errors, never raw ones, for client mistakes', async () => {
    const failure = await sut.post(auth, session.id, { type: '' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DomainError);
  });
});
