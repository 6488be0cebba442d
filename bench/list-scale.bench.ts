/**
 * How session lists, search and item pages scale: the same queries, through the real
 * repositories, for an owner with BIG sessions/items and for one with SMALL ones, in one
 * PostgreSQL database and one run. A ratio near 1× means the query is served by an index
 * (cost independent of table size); a ratio near BIG/SMALL means a scan.
 *
 *   npm run bench                       # against postgres://postgres@127.0.0.1:5432/postgres
 *   BENCH_DATABASE_URL=… BENCH_SESSIONS=100000 BENCH_ITEMS_PER_SESSION=10 npm run bench
 */
import { randomBytes } from 'node:crypto';

import { Client } from 'pg';
import { DataSource } from 'typeorm';

import { getConfig } from 'src/config/app-config';
import { typeOrmOptions } from 'src/database/typeorm-options';
import { ItemEntity } from 'src/modules/sessions/item.entity';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionListFilters, SessionsRepository } from 'src/modules/sessions/sessions.repository';

const env = process.env;
const ADMIN_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BIG = Number(env.BENCH_SESSIONS ?? 100_000);
const SMALL = Math.max(100, Math.round(BIG / 100));
const ITEMS_PER_SESSION = Number(env.BENCH_ITEMS_PER_SESSION ?? 10);
const LONG_SESSION_ITEMS = 10_000;
const RUNS = Number(env.BENCH_RUNS ?? 30);

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Sessions and their items with set-based SQL: seeding a million rows one by one takes hours. */
async function seed(
  ds: DataSource,
  owner: string,
  sessions: number,
  itemsPerSession: number,
): Promise<string> {
  const agentId = `ag_${randomBytes(16).toString('hex')}`;
  await ds.query(
    `INSERT INTO agents (id, name, spec, yaml, builtin) VALUES ($1, $2, '{}', 'name: bench', false)`,
    [agentId, `bench-${agentId}`],
  );
  await ds.query(
    `INSERT INTO sessions (id, owner_id, agent_id, title, created_at, updated_at)
     SELECT 'conv_' || lpad(to_hex(g), 12, '0') || substr(md5($1 || g), 1, 20), $1, $2,
            'Session ' || g || CASE WHEN g % 1000 = 0 THEN ' quarterly report' ELSE '' END,
            now() - (g || ' seconds')::interval, now() - ((g % 997) || ' seconds')::interval
     FROM generate_series(1, $3) g`,
    [owner, agentId, sessions],
  );
  await ds.query(
    `INSERT INTO items (session_id, id, response_id, type, status, data, text_content)
     SELECT s.id, 'msg_' || substr(md5(s.id || i), 1, 28), 'resp_x', 'message', 'completed',
            jsonb_build_object('role', 'user', 'content', jsonb_build_array(jsonb_build_object('type', 'input_text', 'text', t.txt))),
            t.txt
     FROM sessions s, generate_series(1, $2) i,
          LATERAL (SELECT 'message ' || i || ' of ' || s.id ||
                   CASE WHEN (hashtext(s.id) + i) % 5000 = 0 THEN ' mentions the zanzibar budget' ELSE '' END AS txt) t
     WHERE s.owner_id = $1`,
    [owner, itemsPerSession],
  );
  return agentId;
}

async function seedLongSession(ds: DataSource, owner: string, agentId: string): Promise<string> {
  const id = `conv_${randomBytes(16).toString('hex')}`;
  await ds.query(
    `INSERT INTO sessions (id, owner_id, agent_id, title) VALUES ($1, $2, $3, 'long')`,
    [id, owner, agentId],
  );
  await ds.query(
    `INSERT INTO items (session_id, id, response_id, type, status, data, text_content)
     SELECT $1, 'msg_' || lpad(to_hex(i), 28, '0'), 'resp_x', 'message', 'completed', '{"role":"user","content":[]}', 'x'
     FROM generate_series(1, $2) i`,
    [id, LONG_SESSION_ITEMS],
  );
  return id;
}

async function time(run: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  await run();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return {
    p50: samples[Math.floor(samples.length / 2)],
    p95: samples[Math.floor(samples.length * 0.95) - 1],
  };
}

async function main(): Promise<void> {
  const name = `omnigent_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const config = getConfig({ DATABASE_URL: databaseUrl(name), OMNIGENT_LOG_LEVEL: 'error' });
  const ds = await new DataSource(typeOrmOptions(config)).initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
    const started = Date.now();
    process.stdout.write(
      `Seeding ${BIG} + ${SMALL} sessions with ${ITEMS_PER_SESSION} items each…\n`,
    );
    const bigAgent = await seed(ds, 'big-owner', BIG, ITEMS_PER_SESSION);
    await seed(ds, 'small-owner', SMALL, ITEMS_PER_SESSION);
    const longSession = await seedLongSession(ds, 'big-owner', bigAgent);
    const shortSession = (
      await ds.query(`SELECT id FROM sessions WHERE owner_id = 'small-owner' LIMIT 1`)
    )[0].id as string;
    await ds.query('ANALYZE');
    const [{ items }] = await ds.query(`SELECT count(*)::int AS items FROM items`);
    process.stdout.write(
      `Seeded ${items} items in ${((Date.now() - started) / 1000).toFixed(1)} s\n\n`,
    );

    const sessions = new SessionsRepository(ds.getRepository(SessionEntity), ds, config);
    const itemsRepo = new ItemsRepository(ds.getRepository(ItemEntity));
    const filters = (
      ownerId: string,
      extra: Partial<SessionListFilters> = {},
    ): SessionListFilters => ({
      ownerId,
      sortBy: 'created_at',
      includeArchived: false,
      kind: 'default',
      ...extra,
    });
    const cursorAt = async (ownerId: string, fraction: number) =>
      (
        await ds.query(
          `SELECT id FROM sessions WHERE owner_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
          [ownerId, Math.floor((ownerId === 'big-owner' ? BIG : SMALL) * fraction)],
        )
      )[0].id as string;
    const bigCursor = await cursorAt('big-owner', 0.5);
    const smallCursor = await cursorAt('small-owner', 0.5);
    const page = { limit: 20, order: 'desc' as const };

    const cases: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      [
        'list, first page',
        () => sessions.list(filters('big-owner'), page),
        () => sessions.list(filters('small-owner'), page),
      ],
      [
        'list, page after a cursor half-way',
        () => sessions.list(filters('big-owner'), { ...page, after: bigCursor }),
        () => sessions.list(filters('small-owner'), { ...page, after: smallCursor }),
      ],
      [
        'list, sort_by updated_at',
        () => sessions.list(filters('big-owner', { sortBy: 'updated_at' }), page),
        () => sessions.list(filters('small-owner', { sortBy: 'updated_at' }), page),
      ],
      [
        'list, search_query (titles + message text)',
        () => sessions.list(filters('big-owner', { search: 'zanzibar budget' }), page),
        () => sessions.list(filters('small-owner', { search: 'zanzibar budget' }), page),
      ],
      [
        'items, first page of a session',
        () => itemsRepo.page(longSession, { limit: 100, order: 'asc' }),
        () => itemsRepo.page(shortSession, { limit: 100, order: 'asc' }),
      ],
      [
        'items, page deep into a 10k-item session',
        () =>
          itemsRepo.page(longSession, {
            limit: 100,
            order: 'asc',
            after: `msg_${(9000).toString(16).padStart(28, '0')}`,
          }),
        () => itemsRepo.page(shortSession, { limit: 100, order: 'asc' }),
      ],
    ];
    const rows: string[][] = [];
    for (const [label, big, small] of cases) {
      const b = await time(big);
      const s = await time(small);
      rows.push([
        label,
        b.p50.toFixed(2),
        b.p95.toFixed(2),
        s.p50.toFixed(2),
        s.p95.toFixed(2),
        `${(b.p50 / s.p50).toFixed(2)}×`,
      ]);
    }
    const header = [
      'query',
      `big p50 ms`,
      `big p95 ms`,
      `small p50 ms`,
      `small p95 ms`,
      'big/small',
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    process.stdout.write(
      `big = ${BIG} sessions / ${BIG * ITEMS_PER_SESSION} items; small = ${SMALL} sessions; ${RUNS} runs each\n`,
    );
    process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`);
  } finally {
    await ds.destroy();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
