import { LOCAL_PRINCIPAL } from 'src/common/auth/auth-principal';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { factory, sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

describe(SessionAccessService.name, () => {
  let t: TestService<SessionAccessService>;
  const owner = factory.auth();
  const session = sessionEntityFactory({ ownerId: owner.userId });

  beforeEach(() => {
    t = newTestService(SessionAccessService);
  });

  describe('require', () => {
    it('should answer 404 for a session that does not exist', async () => {
      t.mock(SessionsRepository).getById.mockResolvedValue(null);
      await expect(t.sut.require(owner, session.id, SessionLevel.Read)).rejects.toMatchObject({
        code: 'not_found',
      });
    });

    it("should answer another user's session with the same 404, never a 403", async () => {
      t.mock(SessionsRepository).getById.mockResolvedValue(session);
      const failure = await t.sut
        .require(factory.auth(), session.id, SessionLevel.Read)
        .catch((e: unknown) => e);
      expect(failure).toMatchObject({
        code: 'not_found',
        message: `Session ${session.id} does not exist`,
      });
    });

    it('should give the owner and admins every level', async () => {
      t.mock(SessionsRepository).getById.mockResolvedValue(session);
      await expect(t.sut.require(owner, session.id, SessionLevel.Owner)).resolves.toBe(session);
      await expect(
        t.sut.require(factory.auth({ isAdmin: true }), session.id, SessionLevel.Owner),
      ).resolves.toBe(session);
    });
  });

  describe('requireWithItemCount', () => {
    it('should answer the session and its item count, read by one statement', async () => {
      t.mock(SessionsRepository).getWithItemCount.mockResolvedValue({ session, itemCount: 3 });
      await expect(
        t.sut.requireWithItemCount(owner, session.id, SessionLevel.Edit),
      ).resolves.toEqual({ session, itemCount: 3 });
      expect(t.mock(SessionsRepository).getById).not.toHaveBeenCalled();
    });

    it("should answer another user's session, or a missing one, with the same 404", async () => {
      t.mock(SessionsRepository).getWithItemCount.mockResolvedValueOnce({ session, itemCount: 3 });
      t.mock(SessionsRepository).getWithItemCount.mockResolvedValueOnce(null);
      for (let i = 0; i < 2; i++) {
        await expect(
          t.sut.requireWithItemCount(factory.auth(), session.id, SessionLevel.Edit),
        ).rejects.toMatchObject({
          code: 'not_found',
          message: `Session ${session.id} does not exist`,
        });
      }
    });
  });

  describe('displayLevel', () => {
    it('should show no level in local mode, where permissions are off', () => {
      expect(t.sut.displayLevel(LOCAL_PRINCIPAL, session)).toBeNull();
    });

    it('should show the owner level to the owner and none to others', () => {
      expect(t.sut.displayLevel(owner, session)).toBe(SessionLevel.Owner);
      expect(t.sut.displayLevel(factory.auth(), session)).toBeNull();
    });
  });
});
