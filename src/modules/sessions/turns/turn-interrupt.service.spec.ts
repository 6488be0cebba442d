import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnInterruptService } from 'src/modules/sessions/turns/turn-interrupt.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import {
  factory,
  lockedSessionFactory,
  LockedSessionFake,
  sessionEntityFactory,
} from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

const RUNNER = `runner_${'a'.repeat(32)}`;

describe(TurnInterruptService.name, () => {
  let t: TestService<TurnInterruptService>;
  let sut: TurnInterruptService;
  let session: SessionEntity;
  /** The locked session of each unit of work, in order. */
  let units: LockedSessionFake[];
  /** Turns with a terminal event, shared by the units as the turn_terminals table is. */
  let terminals: Set<string>;
  const auth = factory.auth();
  const types = (unit: LockedSessionFake) => unit.events.map((e) => e.type);

  beforeEach(() => {
    t = newTestService(TurnInterruptService);
    // No policies module in the unit tier: the hooks have no gate.
    t.mock(TurnPolicyHooks).get.mockReturnValue(undefined);
    sut = t.sut;
    units = [];
    terminals = new Set();
    session = sessionEntityFactory({
      ownerId: auth.userId,
      runnerId: RUNNER,
      liveStatus: 'running',
      currentTurnId: 'resp_1',
    });
    // Every unit of work runs on a fresh fake of the current row, which it then replaces.
    t.mock(SessionEventsService).locked.mockImplementation(((
      _id: string,
      work: (s: LockedSession) => Promise<unknown>,
    ) => {
      const unit = lockedSessionFactory(session, terminals);
      units.push(unit);
      return work(unit).then((result) => {
        session = unit.row;
        return result;
      });
    }) as never);
    t.mock(SessionsRepository).listBusyChildren.mockResolvedValue([]);
  });

  describe('interrupt', () => {
    it('should fence the turn, announce the interrupt and leave the end to the runner', async () => {
      t.mock(RunnerLinkService).cancelTurn.mockResolvedValue(true);

      expect(await sut.interrupt(session, 'user_interrupt')).toEqual({ queued: false });

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

    it("should withdraw the turn's approvals before asking the runner to cancel", async () => {
      const order: string[] = [];
      const turnEnded = jest.fn((_session: string, _turn: string | null) => {
        order.push('approvals withdrawn');
        return Promise.resolve();
      });
      t.mock(TurnPolicyHooks).get.mockReturnValue({ turnEnded } as never);
      t.mock(RunnerLinkService).cancelTurn.mockImplementation(() => {
        order.push('cancel asked');
        return Promise.resolve(true);
      });

      await sut.interrupt(session, 'user_interrupt');

      expect(turnEnded).toHaveBeenCalledWith(session.id, 'resp_1');
      expect(order).toEqual(['approvals withdrawn', 'cancel asked']);
    });

    it('should end the turn itself when the runner cannot cancel it', async () => {
      t.mock(RunnerLinkService).cancelTurn.mockResolvedValue(false);

      await sut.interrupt(session, 'user_interrupt');

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

      await sut.interrupt(session, 'user_interrupt');

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
      const order: string[] = [];
      t.mock(TurnPolicyHooks).get.mockReturnValue({
        turnEnded: (id: string, turnId: string | null) => {
          order.push(`approvals of ${id === child.id ? 'child' : 'parent'} ${turnId} withdrawn`);
          return Promise.resolve();
        },
      } as never);
      t.mock(RunnerLinkService).cancelTurn.mockImplementation((_session, params) => {
        order.push(`${params.turn_id} cancelled`);
        return Promise.resolve(true);
      });

      await sut.interrupt(session, 'user_interrupt');

      // The runner ends the child's turn with the parent's: its approvals are withdrawn before
      // (their elicitation_resolved must not race the child's idle), and again when it is
      // interrupted itself (nothing left by then).
      expect(order.slice(0, 3)).toEqual([
        'approvals of parent resp_1 withdrawn',
        'approvals of child resp_child withdrawn',
        'resp_1 cancelled',
      ]);
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

      await sut.interrupt(session, 'stop');

      expect(t.mock(RunnerLinkService).cancelTurn.mock.calls[0][1]).toMatchObject({
        reason: 'stop',
      });
      expect(t.mock(RunnerLinkService).closed).toHaveBeenCalledWith(expect.anything(), 'stopped');
    });
  });
});
