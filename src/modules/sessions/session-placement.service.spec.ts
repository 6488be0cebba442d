import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { HostEntity } from 'src/modules/hosts/host.entity';
import { RunnersService } from 'src/modules/runners/runners.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionPlacementService } from 'src/modules/sessions/session-placement.service';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { HostLaunchService } from 'src/modules/sessions/turns/host-launch.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import { factory, sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

const RUNNER = `runner_${'b'.repeat(32)}`;

describe(SessionPlacementService.name, () => {
  let t: TestService<SessionPlacementService>;
  const auth = factory.auth();
  const host = { hostId: factory.id('host') } as HostEntity;

  beforeEach(() => {
    t = newTestService(SessionPlacementService);
  });

  describe('placement', () => {
    it("should place a new session of the caller's on their only runner", async () => {
      t.mock(RunnersService).defaultFor.mockResolvedValue(RUNNER);

      const placed = await t.sut.placement(auth, undefined);

      expect(t.mock(RunnersService).defaultFor).toHaveBeenCalledWith(auth.userId);
      expect(placed).toEqual({
        id: expect.stringMatching(/^conv_/),
        ownerId: auth.userId,
        kind: 'default',
        parentSessionId: null,
        rootSessionId: null,
        runnerId: RUNNER,
      });
    });

    it("should give a sub-agent session its parent's root and, when it is the caller's, runner", async () => {
      const parent = sessionEntityFactory({ ownerId: auth.userId, runnerId: RUNNER });
      t.mock(SessionAccessService).require.mockResolvedValueOnce(parent);
      t.mock(RunnersService).inheritable.mockResolvedValue(null);

      const placed = await t.sut.placement(auth, parent.id);

      expect(t.mock(SessionAccessService).require).toHaveBeenCalledWith(
        auth,
        parent.id,
        SessionLevel.Edit,
      );
      expect(t.mock(RunnersService).inheritable).toHaveBeenCalledWith(RUNNER, auth.userId);
      expect(placed).toMatchObject({
        kind: 'sub_agent',
        parentSessionId: parent.id,
        rootSessionId: parent.id,
        runnerId: null,
      });
    });

    it('should leave a session on a host without a runner until its host launches one', async () => {
      const placed = await t.sut.placement(auth, null, host);
      expect(placed.runnerId).toBeNull();
    });
  });

  describe('launchOnHost', () => {
    it('should keep a failed launch from failing the create: the session is marked failed', async () => {
      const session = sessionEntityFactory({ ownerId: auth.userId });
      t.mock(HostLaunchService).launch.mockRejectedValue(
        new DomainError(ErrorCode.Conflict, 'host offline'),
      );
      t.mock(SessionsRepository).update.mockResolvedValue(undefined);
      t.mock(TurnsService).fail.mockResolvedValue(undefined as never);

      const placed = await t.sut.launchOnHost(session, host, '/work');

      expect(placed).toBe(session);
      expect(t.mock(SessionsRepository).update).toHaveBeenCalledWith(session.id, {
        hostId: host.hostId,
        workspace: '/work',
      });
      expect(t.mock(TurnsService).fail).toHaveBeenCalledWith(session.id, null, {
        code: ErrorCode.Conflict,
        message: 'host offline',
      });
    });
  });

  describe('launchOnHostRoute', () => {
    it('should answer a malformed session id with 404 before any access check', async () => {
      t.mock(HostLaunchService).hostFor.mockResolvedValue(host);
      await expect(
        t.sut.launchOnHostRoute(auth, host.hostId, { session_id: 'bad id', workspace: '/w' }),
      ).rejects.toMatchObject({ code: 'not_found' });
      expect(t.mock(SessionAccessService).require).not.toHaveBeenCalled();
    });
  });
});
