import fc from 'fast-check';
import { DataSource } from 'typeorm';

import { AuthPrincipal } from 'src/common/auth/auth-principal';
import { IdPrefix, newId } from 'src/common/ids/ids';
import type { AppConfig } from 'src/config/app-config';
import { ListSessionsQueryDto } from 'src/modules/sessions/dto/session-request.dto';
import { SessionReadsRepository } from 'src/modules/sessions/session-reads.repository';
import { SessionReadsService } from 'src/modules/sessions/session-reads.service';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { useTestApp } from 'test/e2e/create-app';
import { agentFactory, factory, itemFactory, sessionFactory } from 'test/factories';
import { clientFor, E2eClient, JWT_ENV } from 'test/utils/e2e-client';
import { sessionReadsWith } from 'test/utils/session-reads';
import { ECHO_ID, Json, newSession as createSession } from 'test/utils/session-e2e';

/** The list variants every check reads (cursor pages are added from the answers). */
const LISTS: ListSessionsQueryDto[] = [
  {},
  { limit: 2 },
  { limit: 2, order: 'asc' },
  { sort_by: 'updated_at' },
  { include_archived: true },
  { kind: 'any', limit: 3 },
  { agent_name: 'echo' },
];

/**
 * Every change that alters a page of the session list must change the page's version key
 * (listVersion): the caching service answers what a build without a cache answers, and the
 * ETag changes with the bytes. Issue 12, the list's version key.
 */
describe(`${SessionReadsService.name} list pages keyed by version`, () => {
  const t = useTestApp('postgres', () => ({
    ...JWT_ENV,
    DATABASE_URL: process.env.OMNIGENT_TEST_INTEGRATION_DATABASE_URL as string,
  }));
  let db: DataSource;

  beforeAll(async () => {
    db = t.app.get(DataSource);
  });

  /** A service over the app's repositories, with or without a cache, with its own liveness TTL. */
  function service(cacheBytes: number, livenessTtlMs = t.config.runners.livenessTtlMs) {
    const config: AppConfig = {
      ...t.config,
      reads: { ...t.config.reads, cacheBytes },
      runners: { ...t.config.runners, livenessTtlMs },
    };
    return sessionReadsWith(t, config);
  }

  /** A user of their own, with a cached and an uncached service. */
  function user(livenessTtlMs?: number) {
    const auth: AuthPrincipal = factory.auth();
    const c: E2eClient = clientFor(t, auth.userId);
    const cached = service(64 * 1024 * 1024, livenessTtlMs);
    const fresh = service(0, livenessTtlMs);
    const newSession = async (body: Json = {}): Promise<string> =>
      (await createSession(c, body)).id as string;

    /** One variant through the cache (miss, then hit) and without; returns the fresh answer. */
    async function compare(query: ListSessionsQueryDto) {
      const want = await fresh.list(auth, query);
      for (let i = 0; i < 2; i++) {
        expect(await cached.list(auth, query)).toEqual(want);
      }
      return want;
    }

    /** Every variant, and the cursor pages of `limit: 2` both ways; returns the ETags. */
    async function expectFresh(): Promise<string[]> {
      const etags: string[] = [];
      for (const query of LISTS) {
        etags.push((await compare(query)).etag);
      }
      const first = JSON.parse((await compare({ limit: 2 })).json!);
      if (first.has_more) {
        const second = await compare({ limit: 2, after: first.last_id });
        etags.push(second.etag);
        const back = JSON.parse(second.json!);
        etags.push((await compare({ limit: 2, before: back.first_id })).etag);
      }
      return etags;
    }

    /** Warms the cache, writes, then expects fresh answers and a new ETag for the first page. */
    async function expectChangeSeen(write: () => Promise<unknown>, variant = 0): Promise<void> {
      const before = await expectFresh();
      await write();
      const after = await expectFresh();
      expect(after[variant]).not.toBe(before[variant]);
    }

    const page = async (query: ListSessionsQueryDto = {}) =>
      JSON.parse((await cached.list(auth, query)).json!);

    return { auth, c, cached, fresh, newSession, expectFresh, expectChangeSeen, page };
  }

  const unit = (id: string, work: Parameters<SessionEventsService['locked']>[1]) =>
    t.app.get(SessionEventsService).locked(id, work);

  describe('changes', () => {
    it('should see a session created, updated (title, labels), archived and deleted', async () => {
      const u = user();
      await u.expectChangeSeen(() => u.newSession({ title: 'one' }));
      const id = await u.newSession({ title: 'two' });
      await u.newSession({ title: 'three' });
      await u.expectChangeSeen(() =>
        u.c.patch(`/v1/sessions/${id}`).send({ title: 'renamed' }).expect(200),
      );
      expect((await u.page()).data.map((s: { title: string }) => s.title)).toContain('renamed');
      await u.expectChangeSeen(() =>
        u.c
          .patch(`/v1/sessions/${id}`)
          .send({ labels: { color: 'red' } })
          .expect(200),
      );
      await u.expectChangeSeen(() =>
        u.c.patch(`/v1/sessions/${id}`).send({ archived: true }).expect(200),
      );
      expect((await u.page()).data.map((s: { id: string }) => s.id)).not.toContain(id);
      expect((await u.page({ include_archived: true })).data[1]).toMatchObject({
        id,
        archived: true,
      });
      await u.expectChangeSeen(() => u.c.delete(`/v1/sessions/${id}`).expect(200), 4);
    });

    it('should see runner ingest move a session in the updated_at order', async () => {
      const u = user();
      const first = await u.newSession();
      await u.newSession();
      await u.expectChangeSeen(() => unit(first, async (s) => s.emitItem(itemFactory())), 3);
      expect((await u.page({ sort_by: 'updated_at' })).data[0].id).toBe(first);
    });

    it("should see a change of a session's agent name", async () => {
      const u = user();
      const agent = agentFactory();
      await t.app
        .get(SessionsRepository)
        .createWithAgent(sessionFactory({ ownerId: u.auth.userId, agentId: agent.id }), 1e6, agent);
      await u.expectChangeSeen(() =>
        db.query(`UPDATE agents SET name = $2 WHERE id = $1`, [agent.id, `${agent.name}-2`]),
      );
      expect((await u.page()).data[0].agent_name).toBe(`${agent.name}-2`);
    });

    it('should see a runner go offline by its TTL, with no write at all', async () => {
      const u = user(1000);
      const id = await u.newSession();
      const runnerId = newId(IdPrefix.Runner);
      await db.query(
        `INSERT INTO runner_connections (runner_id, owner_id, connected, last_seen_at) VALUES ($1, $2, true, now())`,
        [runnerId, u.auth.userId],
      );
      await u.expectChangeSeen(() =>
        db.query(`UPDATE sessions SET runner_id = $2 WHERE id = $1`, [id, runnerId]),
      );
      expect((await u.page()).data[0].runner_online).toBe(true);
      await u.expectChangeSeen(() => new Promise((resolve) => setTimeout(resolve, 1100)));
      expect((await u.page()).data[0].runner_online).toBe(false);
    });

    it('should see pending elicitations come and go', async () => {
      const u = user();
      const id = await u.newSession();
      await u.newSession();
      const ask = () =>
        db.query(
          `INSERT INTO elicitations (id, session_id, params, status, expires_at)
           VALUES ($1, $2, $3, 'pending', now() + interval '1 hour')`,
          [newId(IdPrefix.Elicitation), id, { message: 'ok?' }],
        );
      await u.expectChangeSeen(ask);
      await u.expectChangeSeen(ask);
      expect((await u.page()).data[1]).toMatchObject({ id, pending_elicitations_count: 2 });
      await u.expectChangeSeen(() =>
        db.query(`UPDATE elicitations SET status = 'accepted' WHERE session_id = $1`, [id]),
      );
      expect((await u.page()).data[1].pending_elicitations_count).toBe(0);
    });

    it('should see has_more change when the row past the page goes, and no other change of it', async () => {
      const u = user();
      const past = await u.newSession({ title: 'oldest' });
      await u.newSession();
      await u.newSession();
      // LISTS[1] is `limit: 2`: the oldest session is the row past its first page.
      const before = await u.expectFresh();
      await u.c.patch(`/v1/sessions/${past}`).send({ title: 'renamed' }).expect(200);
      expect((await u.expectFresh())[1]).toBe(before[1]);
      await u.expectChangeSeen(() => u.c.delete(`/v1/sessions/${past}`).expect(200), 1);
      expect((await u.page({ limit: 2 })).has_more).toBe(false);
    });

    it("should not change with another user's sessions, nor show them", async () => {
      const u = user();
      const other = user();
      await u.newSession();
      const before = await u.expectFresh();
      const theirs = await other.newSession();
      expect(await u.expectFresh()).toEqual(before);
      // Same query, another caller: their own page, not the cached one.
      expect((await other.page()).data.map((s: { id: string }) => s.id)).toEqual([theirs]);
      // Through the first user's cache too.
      const theirPage = await other.fresh.list(other.auth, {});
      expect(await u.cached.list(other.auth, {})).toEqual(theirPage);
      expect(theirPage.etag).not.toBe(before[0]);
      expect(await u.cached.list(u.auth, {})).toEqual(await u.fresh.list(u.auth, {}));
    });

    it('should answer cursor pages as the rows before and after the cursor change', async () => {
      const u = user();
      const ids = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await u.newSession({ title: `s${i}` }));
      }
      const cursor = ids[2];
      const after = { limit: 2, after: cursor };
      const before = { limit: 2, before: cursor };
      const check = async () => {
        for (const query of [after, before]) {
          const want = await u.fresh.list(u.auth, query);
          expect(await u.cached.list(u.auth, query)).toEqual(want);
          expect(await u.cached.list(u.auth, query)).toEqual(want);
        }
      };
      await check();
      await u.c.delete(`/v1/sessions/${ids[1]}`).expect(200);
      await check();
      await u.c.delete(`/v1/sessions/${ids[3]}`).expect(200);
      await check();
      await u.newSession();
      await check();
      // The cursor's own session deleted: unknown cursor, cached or not.
      await u.c.delete(`/v1/sessions/${cursor}`).expect(200);
      await expect(u.cached.list(u.auth, after)).rejects.toMatchObject({ code: 'invalid_input' });
      await expect(u.cached.list(u.auth, before, '"v"')).rejects.toMatchObject({
        code: 'invalid_input',
      });
    });
  });

  describe('304', () => {
    it('should answer its ETag with 304 (no JSON) without building the page, until a change', async () => {
      const u = user();
      await u.newSession();
      const reads = t.app.get(SessionReadsRepository);
      const conditional = service(0);
      const first = await u.cached.list(u.auth, {});
      expect(first.etag).toMatch(/^"v/);
      const built = jest.spyOn(reads, 'listPage');
      try {
        expect(await conditional.list(u.auth, {}, first.etag)).toEqual({
          etag: first.etag,
          json: null,
        });
        expect(await u.cached.list(u.auth, {}, first.etag)).toEqual({
          etag: first.etag,
          json: null,
        });
        expect(await u.cached.list(u.auth, {})).toEqual(first);
        expect(built).not.toHaveBeenCalled();
      } finally {
        built.mockRestore();
      }
      await u.newSession();
      const changed = await conditional.list(u.auth, {}, first.etag);
      expect(changed.json).not.toBeNull();
      expect(changed.etag).not.toBe(first.etag);
    });
  });

  describe('plans', () => {
    /** The plan counts of the key statements on every pooled connection (enough reads at once to visit them all). */
    async function keyPlans(): Promise<{ generic: number; custom: number }[]> {
      const lists = await Promise.all(
        Array.from({ length: 20 }, () =>
          db.query(
            `SELECT coalesce(jsonb_agg(jsonb_build_object('generic', generic_plans,
               'custom', custom_plans)), '[]') AS plans, pg_sleep(0.01)
             FROM pg_prepared_statements
             WHERE statement LIKE '%AS list\\_version%' AND statement NOT LIKE '%AS data%'`,
          ),
        ),
      );
      return lists.flatMap((rows) => rows[0].plans as { generic: number; custom: number }[]);
    }

    it('should let PostgreSQL keep a generic plan of the key statement instead of planning every read', async () => {
      const u = user();
      await u.newSession();
      const conditional = service(0);
      const { etag } = await u.fresh.list(u.auth, {});
      for (let i = 0; i < 20; i++) {
        await Promise.all([conditional.list(u.auth, {}, etag), conditional.list(u.auth, {}, etag)]);
      }
      const plans = await keyPlans();
      expect(plans.some((p) => p.generic > 0)).toBe(true);
      // PostgreSQL tries 5 custom plans before it compares them with the generic one.
      expect(plans.every((p) => p.custom <= 5)).toBe(true);
    });

    it('should keep the generic plan for an owner of many more sessions than most, once analysed', async () => {
      const u = user();
      await u.newSession();
      await db.query(
        `INSERT INTO sessions (id, owner_id, agent_id, title)
         SELECT 'conv_' || md5($1 || g), CASE WHEN g <= 10000 THEN $1 ELSE $1 || '-' || g % 100 END,
           $2, 'many' FROM generate_series(1, 20000) g`,
        [u.auth.userId, ECHO_ID],
      );
      // Enough rows that a generic plan costed for an average owner and `LIMIT $2` (a tenth of
      // the rows) looks dearer than this owner's custom plans by more than planning costs.
      await db.query('ANALYZE sessions');
      const conditional = service(0);
      const { etag } = await u.fresh.list(u.auth, {});
      // One at a time: the pool hands the same idle connection back, which plans them all.
      for (let i = 0; i < 12; i++) {
        await conditional.list(u.auth, {}, etag);
      }
      expect((await keyPlans()).every((p) => p.custom <= 5)).toBe(true);
      await db.query(`DELETE FROM sessions WHERE owner_id LIKE $1 || '%'`, [u.auth.userId]);
    });
  });

  describe('randomised changes and reads', () => {
    type Step = (u: ReturnType<typeof user>, ids: string[], runnerId: string) => Promise<unknown>;
    const pick = fc.nat({ max: 4 });
    const at = (ids: string[], n: number) => ids[n % ids.length];
    const steps: fc.Arbitrary<Step>[] = [
      fc.string({ maxLength: 6 }).map((title) => async (u, ids) => {
        ids.push(await u.newSession({ title }));
      }),
      fc.tuple(pick, fc.string({ maxLength: 6 })).map(([n, title]) => async (u, ids) => {
        if (ids.length) {
          await u.c
            .patch(`/v1/sessions/${at(ids, n)}`)
            .send({ title })
            .expect(200);
        }
      }),
      fc.tuple(pick, fc.boolean()).map(([n, archived]) => async (u, ids) => {
        if (ids.length) {
          await u.c
            .patch(`/v1/sessions/${at(ids, n)}`)
            .send({ archived })
            .expect(200);
        }
      }),
      pick.map((n) => async (u, ids) => {
        if (ids.length) {
          const [id] = ids.splice(n % ids.length, 1);
          await u.c.delete(`/v1/sessions/${id}`).expect(200);
        }
      }),
      pick.map((n) => async (_u, ids) => {
        if (ids.length) {
          await unit(at(ids, n), async (s) => s.emitItem(itemFactory()));
        }
      }),
      pick.map((n) => async (_u, ids) => {
        if (ids.length) {
          await db.query(
            `INSERT INTO elicitations (id, session_id, params, status, expires_at)
             VALUES ($1, $2, '{}', 'pending', now() + interval '1 hour')`,
            [newId(IdPrefix.Elicitation), at(ids, n)],
          );
        }
      }),
      pick.map((n) => async (_u, ids, runnerId) => {
        if (ids.length) {
          await db.query(`UPDATE sessions SET runner_id = $2 WHERE id = $1`, [
            at(ids, n),
            runnerId,
          ]);
        }
      }),
      fc.boolean().map((connected) => async (_u, _ids, runnerId) => {
        await db.query(`UPDATE runner_connections SET connected = $2 WHERE runner_id = $1`, [
          runnerId,
          connected,
        ]);
      }),
    ];

    it('should answer every cached page as an uncached build would', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(...steps), { minLength: 1, maxLength: 8 }),
          async (run) => {
            const u = user();
            const runnerId = newId(IdPrefix.Runner);
            await db.query(
              `INSERT INTO runner_connections (runner_id, owner_id, connected, last_seen_at) VALUES ($1, $2, true, now())`,
              [runnerId, u.auth.userId],
            );
            const ids = [await u.newSession()];
            for (const step of run) {
              await u.expectFresh();
              await step(u, ids, runnerId);
            }
            await u.expectFresh();
          },
        ),
        { numRuns: 10 },
      );
    });
  });
});
