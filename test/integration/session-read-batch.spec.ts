import { DataSource } from 'typeorm';

import { IdPrefix, newId } from 'src/common/ids/ids';
import { ReadVersion, SessionReadsRepository } from 'src/modules/sessions/session-reads.repository';
import { createTestApp, TestApp } from 'test/e2e/create-app';
import { factory } from 'test/factories';
import { clientFor, JWT_ENV } from 'test/utils/e2e-client';
import { ECHO_ID } from 'test/utils/session-e2e';

/**
 * Version statements of one event-loop turn run as one (TurnBatch): each read gets exactly what
 * a statement of its own would have answered, whatever else shares its statement.
 */
describe(`${SessionReadsRepository.name} version reads of one turn`, () => {
  let t: TestApp;
  let reads: SessionReadsRepository;
  let db: DataSource;
  const ids: string[] = [];

  beforeAll(async () => {
    t = await createTestApp('postgres', {
      ...JWT_ENV,
      DATABASE_URL: process.env.OMNIGENT_TEST_INTEGRATION_DATABASE_URL as string,
    });
    reads = t.app.get(SessionReadsRepository);
    db = t.app.get(DataSource);
    const c = clientFor(t, factory.auth().userId);
    for (let i = 0; i < 5; i++) {
      ids.push((await c.post('/v1/sessions').send({ agent_id: ECHO_ID }).expect(201)).body.id);
    }
    await db.query(
      `INSERT INTO elicitations (id, session_id, params, status, expires_at)
       VALUES ($1, $2, '{}', 'pending', now() + interval '1 hour')`,
      [newId(IdPrefix.Elicitation), ids[1]],
    );
  });
  afterAll(() => t?.close());

  /** Each id read on its own turn: a statement per read. */
  async function oneByOne(asked: string[], ttl: number | null) {
    const answers: (ReadVersion | null)[] = [];
    for (const id of asked) {
      answers.push(await reads.version(id, ttl));
    }
    return answers;
  }

  it.each([
    ['with liveness', 30_000],
    ['without liveness', null],
  ])('should answer reads of one turn %s as reads of their own would', async (_, ttl) => {
    const missing = newId(IdPrefix.Session);
    // Three arities (1, 2 → 2, 8 → 8 with a repeat), a duplicate and an unknown id.
    for (const asked of [[ids[0]], [ids[1], ids[2]], [...ids, ids[3], missing]]) {
      const want = await oneByOne(asked, ttl);
      const run = jest.spyOn(reads as unknown as { versions: () => unknown }, 'versions');
      try {
        expect(await Promise.all(asked.map((id) => reads.version(id, ttl)))).toEqual(want);
        expect(run).toHaveBeenCalledTimes(1);
      } finally {
        run.mockRestore();
      }
    }
    expect((await reads.version(ids[1], ttl))?.hasPendingElicitations).toBe(true);
    expect(await reads.version(missing, ttl)).toBeNull();
  });

  it('should let PostgreSQL keep a generic plan of each statement instead of planning every read', async () => {
    for (let i = 0; i < 20; i++) {
      await reads.version(ids[0], 30_000);
      await Promise.all([reads.version(ids[0], 30_000), reads.version(ids[2], 30_000)]);
    }
    // Every pooled connection's statements of this shape (enough reads at once to visit them all).
    const lists = await Promise.all(
      Array.from({ length: 20 }, () =>
        db.query(
          `SELECT coalesce(jsonb_agg(jsonb_build_object('generic', generic_plans,
             'custom', custom_plans)), '[]') AS plans, pg_sleep(0.01)
           FROM pg_prepared_statements WHERE statement LIKE '%AS id\\_\\_,%'`,
        ),
      ),
    );
    const plans = lists.flatMap((rows) => rows[0].plans as { generic: number; custom: number }[]);
    expect(plans.some((p) => p.generic > 0)).toBe(true);
    // PostgreSQL tries 5 custom plans before it compares them with the generic one.
    expect(plans.every((p) => p.custom <= 5)).toBe(true);
  });

  it('should split a turn of more than 64 sessions into several statements', async () => {
    const many = Array.from(
      { length: 70 },
      (_, i) => ids[i % ids.length] + (i >= 5 ? `x${i}` : ''),
    );
    const answers = await Promise.all(many.map((id) => reads.version(id, null)));
    expect(answers.slice(0, 5)).toEqual(await oneByOne(ids, null));
    expect(answers.slice(5).every((a) => a === null)).toBe(true);
  });
});
