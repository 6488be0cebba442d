import { SessionAccessService } from 'src/modules/sessions/session-access.service';
import {
  ReadVersion,
  SessionReadsRepository,
  SnapshotRow,
} from 'src/modules/sessions/session-reads.repository';
import { SessionReadsService } from 'src/modules/sessions/session-reads.service';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import { factory, sessionEntityFactory } from 'test/factories';
import { automock } from 'test/utils/automock';
import { newTestService, TestService } from 'test/utils/new-test-service';

describe(SessionReadsService.name, () => {
  let t: TestService<SessionReadsService>;
  const auth = factory.auth();
  const session = sessionEntityFactory({ ownerId: auth.userId });
  const version = (overrides: Partial<ReadVersion> = {}): ReadVersion => ({
    ownerId: auth.userId,
    session: 's1',
    agent: 'a1',
    runnerOnline: false,
    hostOnline: null,
    hasPendingElicitations: false,
    ...overrides,
  });
  const row = (v: ReadVersion, itemsJson = '[]'): SnapshotRow => ({
    session,
    agent: null,
    itemsJson,
    runnerOnline: v.runnerOnline,
    hostOnline: v.hostOnline,
    hasPendingElicitations: v.hasPendingElicitations,
    version: v,
  });

  beforeEach(() => {
    t = newTestService(SessionReadsService, {
      overrides: new Map([
        [SessionAccessService, new SessionAccessService(automock(SessionsRepository))],
      ]),
    });
    t.mock(TurnPolicyHooks).get.mockReturnValue(undefined);
  });

  describe('snapshot', () => {
    it('should cache an answer under the version its own statement read, not the earlier one', async () => {
      const reads = t.mock(SessionReadsRepository);
      // A write landed between the version read and the build: the build saw version s2.
      reads.version.mockResolvedValueOnce(version({ session: 's1' }));
      reads.snapshot.mockResolvedValueOnce(row(version({ session: 's2' }), '["new"]'));
      const built = await t.sut.snapshot(auth, session.id);

      reads.version.mockResolvedValueOnce(version({ session: 's1' }));
      reads.snapshot.mockResolvedValueOnce(row(version({ session: 's1' }), '["old"]'));
      const old = await t.sut.snapshot(auth, session.id);
      expect(old.json).toContain('["old"]');
      expect(old.etag).not.toBe(built.etag);

      reads.version.mockResolvedValueOnce(version({ session: 's1' }));
      expect(await t.sut.snapshot(auth, session.id)).toEqual(old);
      expect(reads.snapshot).toHaveBeenCalledTimes(2);
    });

    it('should answer 304 to the ETag of the current version without building', async () => {
      const reads = t.mock(SessionReadsRepository);
      reads.version.mockResolvedValue(version());
      reads.snapshot.mockResolvedValueOnce(row(version()));
      const { etag } = await t.sut.snapshot(auth, session.id);
      expect(await t.sut.snapshot(auth, session.id, {}, `W/${etag}`)).toEqual({ etag, json: null });
      expect(reads.snapshot).toHaveBeenCalledTimes(1);
    });

    it('should neither cache nor key an answer with pending elicitations', async () => {
      const reads = t.mock(SessionReadsRepository);
      const pending = version({ hasPendingElicitations: true });
      reads.version.mockResolvedValue(pending);
      reads.snapshot.mockResolvedValue(row(pending));
      const first = await t.sut.snapshot(auth, session.id);
      expect(first.etag).toMatch(/^"b/);
      await t.sut.snapshot(auth, session.id, {}, first.etag);
      expect(reads.snapshot).toHaveBeenCalledTimes(2);
    });

    it("should check access on the version's row before answering from the cache", async () => {
      const reads = t.mock(SessionReadsRepository);
      reads.version.mockResolvedValue(version());
      reads.snapshot.mockResolvedValueOnce(row(version()));
      const { etag } = await t.sut.snapshot(auth, session.id);
      await expect(t.sut.snapshot(factory.auth(), session.id, {}, etag)).rejects.toMatchObject({
        code: 'not_found',
      });
      await expect(t.sut.snapshot(factory.auth(), session.id)).rejects.toMatchObject({
        code: 'not_found',
      });
    });

    it('should build without reading the version when the cache is off and nothing is asked', async () => {
      t = newTestService(SessionReadsService, {
        env: { OMNIGENT_READ_CACHE_MB: '0' },
        overrides: new Map([
          [SessionAccessService, new SessionAccessService(automock(SessionsRepository))],
        ]),
      });
      t.mock(TurnPolicyHooks).get.mockReturnValue(undefined);
      t.mock(SessionReadsRepository).snapshot.mockResolvedValue(row(version()));
      expect((await t.sut.snapshot(auth, session.id)).json).toContain(session.id);
      expect(t.mock(SessionReadsRepository).version).not.toHaveBeenCalled();
    });
  });
});
