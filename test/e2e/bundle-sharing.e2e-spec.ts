import { createHash, randomBytes } from 'node:crypto';

import { DataSource } from 'typeorm';

import { useTestApp } from 'test/e2e/create-app';
import { bundleOf, echoAgentConfig } from 'test/utils/agent-bundle';
import { clientFor, E2eClient, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';

type Json = Record<string, unknown>;

/**
 * Issue 16 finding 5: every fork copied the uploaded bundle (10 forks of a 9.5 MB bundle grew
 * the database 66 → 260 MB). Bundles are stored once per content and shared; the last agent
 * that references one takes it along when it is deleted.
 */
describe('forks share the uploaded bundle', () => {
  let db: DataSource;
  let alice: E2eClient;
  let bundle: Buffer;
  let digest: string;

  const FORKS = 10;
  const bundleRows = async () =>
    Number(
      (await db.query(`SELECT count(*) AS n FROM agent_bundles WHERE sha256 = $1`, [digest]))[0].n,
    );
  /** Bytes the agent rows referencing the bundle take (the bundle itself excluded). */
  const agentRows = async (): Promise<{ n: number; bytes: number }> => {
    const [row] = await db.query(
      `SELECT count(*)::int AS n, coalesce(sum(pg_column_size(a.*)), 0)::int AS bytes
       FROM agents a WHERE a.bundle_sha256 = $1`,
      [digest],
    );
    return row;
  };

  const t = useTestApp('postgres', JWT_ENV);
  beforeAll(async () => {
    db = t.app.get(DataSource);
    alice = clientFor(t, uniqueUser('alice'));
    // About 1 MB that gzip cannot shrink, so a copy would show.
    bundle = await bundleOf([
      { name: 'config.yaml', content: echoAgentConfig(`share-${uniqueUser().slice(-8)}`) },
      { name: 'instructions.md', content: 'Repeat what the user says.\n' },
      { name: 'data/noise.txt', content: randomBytes(768 * 1024).toString('base64') },
    ]);
    digest = createHash('sha256').update(bundle).digest('hex');
  });

  it('should store one copy for the upload and its forks, and keep it until the last goes', async () => {
    expect(bundle.length).toBeGreaterThan(700 * 1024);
    const created = await alice
      .post('/v1/sessions')
      .field('metadata', '{}')
      .attach('bundle', bundle, 'agent.tar.gz')
      .expect(201);
    const original = created.body.session_id as string;
    const forks: string[] = [];
    for (let i = 0; i < FORKS; i++) {
      const fork = await alice.post(`/v1/sessions/${original}/fork`).send({}).expect(201);
      forks.push((fork.body as Json).id as string);
    }

    expect(await bundleRows()).toBe(1);
    const rows = await agentRows();
    expect(rows.n).toBe(FORKS + 1);
    // Each fork's agent row is its spec and YAML: a few KB at most, never the bundle.
    expect(rows.bytes).toBeLessThan(bundle.length / 10);

    // The original goes; its forks keep their agent, can be forked again, and the bytes stay.
    await alice.delete(`/v1/sessions/${original}`).expect(200);
    const agent = await alice.get(`/v1/sessions/${forks[0]}/agent`).expect(200);
    expect(agent.body).toMatchObject({ name: expect.stringMatching(/^share-/) });
    const again = await alice.post(`/v1/sessions/${forks[0]}/fork`).send({}).expect(201);
    forks.push((again.body as Json).id as string);
    expect(await bundleRows()).toBe(1);
    const [stored] = await db.query(`SELECT data FROM agent_bundles WHERE sha256 = $1`, [digest]);
    expect(Buffer.compare(stored.data as Buffer, bundle)).toBe(0);

    // A second upload of the same bytes shares the row too.
    const twin = await alice
      .post('/v1/sessions')
      .field('metadata', '{}')
      .attach('bundle', bundle, 'agent.tar.gz')
      .expect(201);
    expect(await bundleRows()).toBe(1);

    for (const id of [...forks, twin.body.session_id as string]) {
      await alice.delete(`/v1/sessions/${id}`).expect(200);
    }
    expect((await agentRows()).n).toBe(0);
    expect(await bundleRows()).toBe(0);
  });
});
