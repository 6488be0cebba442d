import fc from 'fast-check';
import { DataSource } from 'typeorm';

import { AuthPrincipal } from 'src/common/auth/auth-principal';
import { IdPrefix, newId } from 'src/common/ids/ids';
import { ListItemsQueryDto } from 'src/modules/sessions/dto/session-request.dto';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { SessionReadsRepository } from 'src/modules/sessions/session-reads.repository';
import { SessionReadsService } from 'src/modules/sessions/session-reads.service';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { useTestApp } from 'test/e2e/create-app';
import { agentFactory, factory, itemFactory, sessionFactory } from 'test/factories';
import { clientFor, E2eClient, JWT_ENV } from 'test/utils/e2e-client';
import { Json, newSession as createSession } from 'test/utils/session-e2e';
import { sessionReadsWith } from 'test/utils/session-reads';

/** The snapshot and items variants every check reads. */
const SNAPSHOTS = [{}, { include_items: false }, { include_liveness: false }];
const PAGES: ListItemsQueryDto[] = [{}, { limit: 2 }, { limit: 2, order: 'desc' }];

/**
 * Every writer of what a snapshot or an items page shows, done through the real app on
 * PostgreSQL, must change the version key: the answer of the caching service equals a build
 * without a cache, and the ETag changes. Issue 12, third pass.
 */
describe(`${SessionReadsService.name} answers keyed by version`, () => {
  const t = useTestApp('postgres', () => ({
    ...JWT_ENV,
    DATABASE_URL: process.env.OMNIGENT_TEST_INTEGRATION_DATABASE_URL as string,
  }));
  let cached: SessionReadsService;
  let fresh: SessionReadsService;
  let db: DataSource;
  let c: E2eClient;
  let auth: AuthPrincipal;

  beforeAll(async () => {
    cached = t.app.get(SessionReadsService);
    fresh = sessionReadsWith(t, { ...t.config, reads: { cacheBytes: 0 } });
    db = t.app.get(DataSource);
    auth = factory.auth();
    c = clientFor(t, auth.userId);
  });

  const newSession = async (body: Json = {}): Promise<string> =>
    (await createSession(c, body)).id as string;

  /** Reads every variant through the cache (twice: miss, then hit) and without; returns ETags. */
  async function expectFresh(id: string): Promise<string[]> {
    const etags: string[] = [];
    for (const query of SNAPSHOTS) {
      const want = await fresh.snapshot(auth, id, query);
      for (let i = 0; i < 2; i++) {
        expect(await cached.snapshot(auth, id, query)).toEqual(want);
      }
      etags.push(want.etag);
    }
    for (const query of PAGES) {
      const want = await fresh.items(auth, id, query);
      for (let i = 0; i < 2; i++) {
        expect(await cached.items(auth, id, query)).toEqual(want);
      }
      etags.push(want.etag);
    }
    return etags;
  }

  /** Warms the cache, writes, then expects fresh answers and a new snapshot ETag. */
  async function expectWriterSeen(
    id: string,
    write: () => Promise<unknown>,
    changes: { items?: boolean } = {},
  ): Promise<void> {
    const before = await expectFresh(id);
    await write();
    const after = await expectFresh(id);
    expect(after[0]).not.toBe(before[0]);
    if (changes.items) {
      expect(after[SNAPSHOTS.length]).not.toBe(before[SNAPSHOTS.length]);
    }
  }

  const unit = (id: string, work: Parameters<SessionEventsService['locked']>[1]) =>
    t.app.get(SessionEventsService).locked(id, work);

  describe('writers', () => {
    it('should see PATCH of the title, labels, model override and archived', async () => {
      const id = await newSession({ title: 'one' });
      await expectWriterSeen(id, () =>
        c.patch(`/v1/sessions/${id}`).send({ title: 'two' }).expect(200),
      );
      await expectWriterSeen(id, () =>
        c
          .patch(`/v1/sessions/${id}`)
          .send({ labels: { color: 'red' } })
          .expect(200),
      );
      await expectWriterSeen(id, () =>
        c.patch(`/v1/sessions/${id}`).send({ model_override: 'gpt-x' }).expect(200),
      );
      await expectWriterSeen(id, () =>
        c.patch(`/v1/sessions/${id}`).send({ archived: true }).expect(200),
      );
    });

    it('should see an item posted through POST …/events', async () => {
      const id = await newSession();
      await expectWriterSeen(
        id,
        () =>
          c
            .post(`/v1/sessions/${id}/events`)
            .send({ type: 'compaction', data: { summary: 's', last_item_id: 'm', token_count: 1 } })
            .expect(202),
        { items: true },
      );
    });

    it('should see runner ingest: a unit that emits items with their events', async () => {
      const id = await newSession();
      await expectWriterSeen(id, () => unit(id, async (s) => s.emitItem(itemFactory())), {
        items: true,
      });
      const item = itemFactory({
        type: 'function_call',
        status: 'in_progress',
        data: { name: 'f' },
      });
      await unit(id, async (s) => s.emitItem(item));
      // The same item again with a new status: an update in place.
      await expectWriterSeen(
        id,
        () => unit(id, async (s) => s.emitItem({ ...item, status: 'completed' })),
        {
          items: true,
        },
      );
    });

    it('should see a unit that writes items and no event (the session row changes anyway)', async () => {
      const id = await newSession();
      await expectWriterSeen(
        id,
        () => unit(id, async (s) => void (await s.upsertItems([itemFactory()]))),
        {
          items: true,
        },
      );
    });

    it('should see usage totals and status patched by a unit without events', async () => {
      const id = await newSession();
      await expectWriterSeen(id, () =>
        unit(id, async (s) =>
          s.patch({
            lastTotalTokens: 42,
            usageTotals: {
              input_tokens: 40,
              output_tokens: 2,
              total_tokens: 42,
              cost_usd: 0.5,
              unpriced_tokens: 0,
              day: '2026-12-03',
              day_cost_usd: 0.5,
              day_unpriced_tokens: 0,
            },
          }),
        ),
      );
      await expectWriterSeen(id, () =>
        unit(id, async (s) =>
          s.patch({ liveStatus: 'failed', lastError: { code: 'boom', message: 'Boom' } }),
        ),
      );
    });

    it('should see seed items stored after the session was created', async () => {
      const id = await newSession();
      await expectWriterSeen(id, () => t.app.get(ItemsRepository).insertMany(id, [itemFactory()]), {
        items: true,
      });
    });

    it('should answer a fork and leave its source answering as before', async () => {
      const id = await newSession({ title: 'source' });
      await unit(id, async (s) => s.emitItem(itemFactory()));
      const before = await expectFresh(id);
      const fork = await c.post(`/v1/sessions/${id}/fork`).send({}).expect(201);
      expect(await expectFresh(id)).toEqual(before);
      await expectFresh(fork.body.id);
    });

    it("should see a change of the session's agent row", async () => {
      const agent = agentFactory();
      const session = await t.app
        .get(SessionsRepository)
        .createWithAgent(sessionFactory({ ownerId: auth.userId, agentId: agent.id }), 1e6, agent);
      const id = session!.id;
      await expectWriterSeen(id, () =>
        db.query(
          `UPDATE agents SET spec = jsonb_set(spec, '{executor,model}', '"m-2"') WHERE id = $1`,
          [agent.id],
        ),
      );
      expect(JSON.parse((await cached.snapshot(auth, id)).json!).llm_model).toBe('m-2');
    });

    it('should see runner and host liveness change without a write to the session', async () => {
      const id = await newSession();
      const runnerId = newId(IdPrefix.Runner);
      const hostId = newId(IdPrefix.Host);
      await db.query(
        `INSERT INTO runner_connections (runner_id, owner_id, connected, last_seen_at) VALUES ($1, $2, true, now())`,
        [runnerId, auth.userId],
      );
      await db.query(
        `INSERT INTO hosts (host_id, owner_id, name, connected, last_seen_at) VALUES ($1, $2, 'h', true, now())`,
        [hostId, auth.userId],
      );
      await expectWriterSeen(id, () =>
        db.query(`UPDATE sessions SET runner_id = $2, host_id = $3 WHERE id = $1`, [
          id,
          runnerId,
          hostId,
        ]),
      );
      const live = JSON.parse((await cached.snapshot(auth, id)).json!);
      expect([live.runner_online, live.host_online]).toEqual([true, true]);
      await expectWriterSeen(id, () =>
        db.query(`UPDATE runner_connections SET connected = false WHERE runner_id = $1`, [
          runnerId,
        ]),
      );
      await expectWriterSeen(id, () =>
        db.query(`UPDATE hosts SET last_seen_at = now() - interval '1 day' WHERE host_id = $1`, [
          hostId,
        ]),
      );
      const dead = JSON.parse((await cached.snapshot(auth, id)).json!);
      expect([dead.runner_online, dead.host_online]).toEqual([false, false]);
    });

    it('should show pending elicitations as they come and go, without caching them', async () => {
      const id = await newSession();
      const ask = (message: string) => () =>
        db.query(
          `INSERT INTO elicitations (id, session_id, params, status, expires_at)
           VALUES ($1, $2, $3, 'pending', now() + interval '1 hour')`,
          [newId(IdPrefix.Elicitation), id, { message }],
        );
      await expectWriterSeen(id, ask('ok?'));
      await expectWriterSeen(id, ask('and this?'));
      expect(JSON.parse((await cached.snapshot(auth, id)).json!).pending_elicitations).toHaveLength(
        2,
      );
      await db.query(`UPDATE elicitations SET status = 'accepted' WHERE session_id = $1`, [id]);
      await expectFresh(id);
      expect(JSON.parse((await cached.snapshot(auth, id)).json!).pending_elicitations).toEqual([]);
    });
  });

  describe('access and 304', () => {
    it('should answer 404 to another user and after a delete, even with the answer cached', async () => {
      const id = await newSession();
      await expectFresh(id);
      const other = factory.auth();
      await expect(cached.snapshot(other, id)).rejects.toMatchObject({ code: 'not_found' });
      await expect(cached.items(other, id, {})).rejects.toMatchObject({ code: 'not_found' });
      await c.delete(`/v1/sessions/${id}`).expect(200);
      await expect(cached.snapshot(auth, id)).rejects.toMatchObject({ code: 'not_found' });
      await expect(cached.items(auth, id, {})).rejects.toMatchObject({ code: 'not_found' });
    });

    it('should answer 304 (no JSON) to its ETag without building the answer, until a write', async () => {
      const id = await newSession();
      const reads = t.app.get(SessionReadsRepository);
      const snapshot = await cached.snapshot(auth, id);
      const items = await cached.items(auth, id, {});
      const built = jest.spyOn(reads, 'snapshot');
      const paged = jest.spyOn(reads, 'itemsPage');
      try {
        expect(await cached.snapshot(auth, id, {}, snapshot.etag)).toEqual({
          etag: snapshot.etag,
          json: null,
        });
        expect(await cached.items(auth, id, {}, items.etag)).toEqual({
          etag: items.etag,
          json: null,
        });
        expect(await cached.snapshot(auth, id)).toEqual(snapshot);
        expect(built).not.toHaveBeenCalled();
        expect(paged).not.toHaveBeenCalled();
      } finally {
        built.mockRestore();
        paged.mockRestore();
      }
      await unit(id, async (s) => s.emitItem(itemFactory()));
      const changed = await cached.snapshot(auth, id, {}, snapshot.etag);
      expect(changed.json).not.toBeNull();
      expect(changed.etag).not.toBe(snapshot.etag);
      expect((await cached.items(auth, id, {}, items.etag)).json).not.toBeNull();
    });
  });

  describe('randomised writes and reads', () => {
    type Write = (id: string) => Promise<unknown>;
    const writes: fc.Arbitrary<Write>[] = [
      fc
        .string({ maxLength: 8 })
        .map((title) => (id: string) => c.patch(`/v1/sessions/${id}`).send({ title }).expect(200)),
      fc.constantFrom('a', 'b').map(
        (v) => (id: string) =>
          c
            .patch(`/v1/sessions/${id}`)
            .send({ labels: { k: v } })
            .expect(200),
      ),
      fc.constant((id: string) => unit(id, async (s) => s.emitItem(itemFactory()))),
      fc.constant((id: string) =>
        unit(id, async (s) => void (await s.upsertItems([itemFactory()]))),
      ),
      fc
        .integer({ min: 0, max: 1000 })
        .map((n) => (id: string) => unit(id, async (s) => s.patch({ lastTotalTokens: n }))),
      fc.constant((id: string) => t.app.get(ItemsRepository).insertMany(id, [itemFactory()])),
    ];

    it('should answer every cached read as an uncached build would', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(...writes), { minLength: 1, maxLength: 6 }),
          async (steps) => {
            const id = await newSession();
            for (const step of steps) {
              await expectFresh(id);
              await step(id);
            }
            await expectFresh(id);
          },
        ),
        { numRuns: 12 },
      );
    });
  });
});
