import { IdPrefix, newId } from 'src/common/ids/ids';
import { RunnersRepository } from 'src/modules/runners/runners.repository';
import { factory } from 'test/factories';
import { describeIntegration } from 'test/integration/integration-context';

const MINUTE_MS = 60_000;
const GRACE_MS = MINUTE_MS;
const TTL_MS = MINUTE_MS;

describeIntegration(RunnersRepository.name, (ctx) => {
  const register = async (ownerId = factory.userId()) => {
    const runnerId = newId(IdPrefix.Runner);
    const epoch = await ctx.runners.register(runnerId, ownerId, 'replica-a', { version: 1 });
    return { runnerId, ownerId, epoch };
  };

  /** Moves a runner's clock fields into the past, as if time had passed. */
  const age = async (runnerId: string, column: 'disconnected_at' | 'last_seen_at', ms: number) => {
    await ctx.dataSource.query(
      `UPDATE runner_connections SET ${column} = now() - make_interval(secs => $2) WHERE runner_id = $1`,
      [runnerId, ms / 1000],
    );
  };

  /** A runner that dropped long enough ago to be dead. */
  const deadRunner = async () => {
    const runner = await register();
    await ctx.runners.markDisconnected(runner.runnerId, runner.epoch);
    await age(runner.runnerId, 'disconnected_at', 2 * GRACE_MS);
    return runner;
  };

  const claimedAmong = async (runnerIds: string[]) =>
    (await ctx.runners.claimDead(GRACE_MS, TTL_MS)).filter((c) => runnerIds.includes(c.runnerId));

  describe('register', () => {
    it('should bump the epoch on every connection', async () => {
      const runnerId = newId(IdPrefix.Runner);
      const ownerId = factory.userId();

      const first = await ctx.runners.register(runnerId, ownerId, 'replica-a', { n: 1 });
      await ctx.runners.markDisconnected(runnerId, first);
      const second = await ctx.runners.register(runnerId, ownerId, 'replica-b', { n: 2 });

      expect([first, second]).toEqual([1, 2]);
      await expect(ctx.runners.getById(runnerId)).resolves.toMatchObject({
        ownerId,
        replicaId: 'replica-b',
        epoch: 2,
        connected: true,
        disconnectedAt: null,
        hello: { n: 2 },
      });
    });
  });

  describe('register and admit: a runner id never changes hands', () => {
    const limits = { maxRunners: 2, ttlMs: TTL_MS, handshakeMs: 10_000 };

    it("should refuse another owner's hello for a registered id and keep the row", async () => {
      const { runnerId, ownerId, epoch } = await register();

      await expect(
        ctx.runners.register(runnerId, factory.userId(), 'replica-b', {}),
      ).rejects.toThrow(/another user/);
      expect(await ctx.runners.getById(runnerId)).toMatchObject({ ownerId, epoch });
    });

    it('should bind an id to its first admitted owner, before any hello', async () => {
      const runnerId = newId(IdPrefix.Runner);
      const ownerId = factory.userId();

      await expect(ctx.runners.admit(runnerId, ownerId, limits)).resolves.toBe('admitted');
      await expect(ctx.runners.admit(runnerId, factory.userId(), limits)).resolves.toBe('taken');
      await expect(ctx.runners.admit(runnerId, ownerId, limits)).resolves.toBe('admitted');
      expect(await ctx.runners.getById(runnerId)).toMatchObject({ ownerId, connected: false });
    });

    it('should refuse an id launched for another owner', async () => {
      const runnerId = newId(IdPrefix.Runner);
      await ctx.runners.saveLaunch({
        runnerId,
        ownerId: factory.userId(),
        tokenHash: 'x',
        expiresAt: new Date(Date.now() + MINUTE_MS),
      });

      await expect(ctx.runners.admit(runnerId, factory.userId(), limits)).resolves.toBe('taken');
    });

    it('should count online runners and handshakes in flight against the quota', async () => {
      const ownerId = factory.userId();
      await register(ownerId);
      await expect(ctx.runners.admit(newId(IdPrefix.Runner), ownerId, limits)).resolves.toBe(
        'admitted',
      );

      await expect(ctx.runners.admit(newId(IdPrefix.Runner), ownerId, limits)).resolves.toBe(
        'quota',
      );
    });

    it('should admit at most the quota under concurrent connects of one owner', async () => {
      const ownerId = factory.userId();
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, () => ctx.runners.admit(newId(IdPrefix.Runner), ownerId, limits)),
      );

      expect(outcomes.filter((o) => o === 'admitted')).toHaveLength(2);
    });
  });

  describe('touch', () => {
    it('should refresh last_seen_at for the current epoch only', async () => {
      const { runnerId, ownerId } = await register();
      const current = await ctx.runners.register(runnerId, ownerId, 'replica-b', {});
      await age(runnerId, 'last_seen_at', 10 * MINUTE_MS);
      const stale = (await ctx.runners.getById(runnerId))?.lastSeenAt;

      await ctx.runners.touch(runnerId, current - 1);
      expect((await ctx.runners.getById(runnerId))?.lastSeenAt).toEqual(stale);

      await ctx.runners.touch(runnerId, current);
      const touched = (await ctx.runners.getById(runnerId))?.lastSeenAt;
      expect(touched?.getTime()).toBeGreaterThan((stale as Date).getTime() + 9 * MINUTE_MS);
    });

    it('should not revive a disconnected runner', async () => {
      const { runnerId, epoch } = await register();
      await ctx.runners.markDisconnected(runnerId, epoch);
      await age(runnerId, 'last_seen_at', 10 * MINUTE_MS);
      const before = await ctx.runners.getById(runnerId);

      await ctx.runners.touch(runnerId, epoch);

      await expect(ctx.runners.getById(runnerId)).resolves.toEqual(before);
    });
  });

  describe('markDisconnected', () => {
    it('should ignore an older epoch and disconnect the current one', async () => {
      const { runnerId, ownerId, epoch: old } = await register();
      const current = await ctx.runners.register(runnerId, ownerId, 'replica-b', {});
      const before = await ctx.runners.getById(runnerId);

      await ctx.runners.markDisconnected(runnerId, old);
      await expect(ctx.runners.getById(runnerId)).resolves.toEqual(before);

      await ctx.runners.markDisconnected(runnerId, current);
      await expect(ctx.runners.getById(runnerId)).resolves.toMatchObject({
        connected: false,
        disconnectedAt: expect.any(Date),
        epoch: current,
      });
    });
  });

  describe('listOnline', () => {
    it('should list the fresh connected runners of an owner, or of everyone', async () => {
      const ownerId = factory.userId();
      const fresh = await register(ownerId);
      const stale = await register(ownerId);
      await age(stale.runnerId, 'last_seen_at', 2 * TTL_MS);
      const gone = await register(ownerId);
      await ctx.runners.markDisconnected(gone.runnerId, gone.epoch);
      const someoneElses = await register();

      const mine = await ctx.runners.listOnline(ownerId, TTL_MS);
      const everyone = (await ctx.runners.listOnline(null, TTL_MS)).map((r) => r.runnerId);

      expect(mine.map((r) => r.runnerId)).toEqual([fresh.runnerId]);
      expect(everyone).toEqual(expect.arrayContaining([fresh.runnerId, someoneElses.runnerId]));
      expect(everyone).not.toContain(stale.runnerId);
      expect(everyone).not.toContain(gone.runnerId);
    });
  });

  describe('onlineAmong', () => {
    it('should count only connected runners heard from within the TTL', async () => {
      const fresh = await register();
      const stale = await register();
      await age(stale.runnerId, 'last_seen_at', 10 * MINUTE_MS);
      const gone = await register();
      await ctx.runners.markDisconnected(gone.runnerId, gone.epoch);
      const ids = [fresh.runnerId, stale.runnerId, gone.runnerId, newId(IdPrefix.Runner)];

      await expect(ctx.runners.onlineAmong(ids, TTL_MS)).resolves.toEqual(
        new Set([fresh.runnerId]),
      );
      await expect(ctx.runners.onlineAmong(ids, 20 * MINUTE_MS)).resolves.toEqual(
        new Set([fresh.runnerId, stale.runnerId]),
      );
      await expect(ctx.runners.onlineAmong([], TTL_MS)).resolves.toEqual(new Set());
    });
  });

  describe('claimDead', () => {
    it('should claim runners dropped past the grace and connected ones silent past the TTL', async () => {
      const dropped = await deadRunner();
      const justDropped = await register();
      await ctx.runners.markDisconnected(justDropped.runnerId, justDropped.epoch);
      const fresh = await register();
      const silent = await register();
      await age(silent.runnerId, 'last_seen_at', 2 * TTL_MS);
      const ids = [dropped, justDropped, fresh, silent].map((r) => r.runnerId);

      const claimed = await claimedAmong(ids);

      expect(claimed).toHaveLength(2);
      expect(claimed).toEqual(
        expect.arrayContaining([
          { runnerId: dropped.runnerId, epoch: 1 },
          { runnerId: silent.runnerId, epoch: 1 },
        ]),
      );
      await expect(ctx.runners.getById(silent.runnerId)).resolves.toMatchObject({
        connected: false,
        disconnectedAt: expect.any(Date),
        deathHandledEpoch: 1,
      });
      await expect(ctx.runners.onlineAmong(ids, TTL_MS)).resolves.toEqual(
        new Set([fresh.runnerId]),
      );
    });

    it('should never claim the same epoch twice, but claim a later one', async () => {
      const runner = await deadRunner();

      await expect(claimedAmong([runner.runnerId])).resolves.toEqual([
        { runnerId: runner.runnerId, epoch: 1 },
      ]);
      await expect(claimedAmong([runner.runnerId])).resolves.toEqual([]);

      const epoch = await ctx.runners.register(runner.runnerId, runner.ownerId, 'replica-b', {});
      await ctx.runners.markDisconnected(runner.runnerId, epoch);
      await age(runner.runnerId, 'disconnected_at', 2 * GRACE_MS);

      await expect(claimedAmong([runner.runnerId])).resolves.toEqual([
        { runnerId: runner.runnerId, epoch: 2 },
      ]);
      await expect(claimedAmong([runner.runnerId])).resolves.toEqual([]);
    });

    it('should hand each dead runner to exactly one of concurrent sweepers', async () => {
      const dead = [];
      for (let i = 0; i < 8; i++) {
        dead.push(await deadRunner());
      }
      const ids = dead.map((r) => r.runnerId);

      const sweeps = await Promise.all(
        [1, 2, 3].map(() => ctx.runners.claimDead(GRACE_MS, TTL_MS)),
      );

      const claimed = sweeps.flat().map((c) => `${c.runnerId}@${c.epoch}`);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(
        sweeps
          .flat()
          .filter((c) => ids.includes(c.runnerId))
          .map((c) => c.runnerId)
          .sort(),
      ).toEqual([...ids].sort());
    });
  });
});
