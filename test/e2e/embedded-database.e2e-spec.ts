import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client } from 'pg';

import { IdPrefix, newId } from 'src/common/ids/ids';
import { processAlive } from 'src/database/embedded/postmaster';
import { createTestApp } from 'test/e2e/create-app';
import { httpApi } from 'test/utils/http-api';
import { spawnCli, startServer } from 'test/utils/processes';
import {
  embeddedDataDir,
  newDataDir,
  removeDataDir,
  stopLeftoverPostmaster,
} from 'test/utils/test-database';

/** The postmaster.pid of a data directory: its pid and port, or null when none runs. */
function postmaster(dataDir: string): { pid: number; port: number } | null {
  try {
    const lines = readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  } catch {
    return null;
  }
}

/** A client of the embedded database, logged in as the server does (the 0600 password file). */
async function sql(dataDir: string): Promise<Client> {
  const running = postmaster(dataDir);
  const client = new Client({
    host: '127.0.0.1',
    port: running?.port,
    user: 'omnigent',
    database: 'omnigent',
    password: readFileSync(join(dataDir, 'postgres.password'), 'utf8').trim(),
  });
  await client.connect();
  return client;
}

// Each test's timeout is the sum of its own bounded waits: per server start 60 s to `Listening`
// (startServer; the in-process app on a template copy likewise) and 10 s to stop before SIGKILL,
// plus a minute for the rest (two starts: 200 s, three: 270 s, one: 130 s). Under load a start
// alone took 12-14 s (load average 9-10 and two CPU burners), so three starts did not reliably
// fit a flat 90 s, nor one in-process start Jest's default 30 s; now a slow step fails with its
// own message (which wait, the output so far) instead of being cut off in the middle.
describe('the embedded database (`omnigent serve` without DATABASE_URL)', () => {
  const dirs: string[] = [];
  const track = (dir: string) => (dirs.push(dir), dir);

  afterAll(async () => {
    for (const dir of dirs) {
      await stopLeftoverPostmaster(dir);
      removeDataDir(dir);
    }
  });

  it('should initialise on the first start, say so, and keep every row across a restart', async () => {
    const dataDir = track(newDataDir());
    const first = await startServer({ OMNIGENT_DATA_DIR: dataDir });
    expect(first.output()).toContain('First start: initialising the embedded PostgreSQL 18.4');
    const { id } = await httpApi(first.url).createSession('echo', { title: 'before restart' });
    const pid = postmaster(dataDir)?.pid as number;
    expect(statSync(join(dataDir, 'postgres.password')).mode & 0o777).toBe(0o600);

    await first.stop();
    expect(processAlive(pid)).toBe(false);
    expect(postmaster(dataDir)).toBeNull();

    const second = await startServer({ OMNIGENT_DATA_DIR: dataDir });
    expect(second.output()).not.toContain('First start');
    const session = await httpApi(second.url).ok<{ title: string }>('GET', `/v1/sessions/${id}`);
    expect(session.title).toBe('before restart');
    await second.stop();
  }, 200_000);

  it('should refuse a second server while the first is alive, and adopt the database after a kill -9 with every committed row', async () => {
    const dataDir = track(embeddedDataDir());
    const first = await startServer({ OMNIGENT_DATA_DIR: dataDir });
    const api = httpApi(first.url);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push((await api.createSession('echo', { title: `row ${i}` })).id);
    }

    const second = spawnCli(['serve'], {
      OMNIGENT_DATA_DIR: dataDir,
      OMNIGENT_PORT: '0',
      OMNIGENT_LOCAL_RUNNER: '0',
    });
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(
      `The embedded database in ${dataDir} is in use by another Omnigent server (pid ${first.proc.pid})`,
    );
    expect(second.output()).not.toMatch(/^\s+at /m);
    await expect(api.ok('GET', '/health')).resolves.toBeDefined();

    await first.kill();
    const orphan = postmaster(dataDir);
    expect(orphan && processAlive(orphan.pid)).toBe(true);

    const third = await startServer({ OMNIGENT_DATA_DIR: dataDir });
    expect(third.output()).toContain(
      `Adopted the embedded PostgreSQL left running by a previous server (pid ${orphan?.pid}`,
    );
    const list = await httpApi(third.url).ok<{ data: { id: string; title: string }[] }>(
      'GET',
      '/v1/sessions?limit=100',
    );
    expect(list.data.map((s) => s.id).sort()).toEqual([...ids].sort());
    await third.stop();
    expect(processAlive(orphan?.pid as number)).toBe(false);
  }, 270_000);

  it('should serve the app in-process on a copy of the migrated embedded template', async () => {
    const t = await createTestApp('embedded');
    try {
      const agents = await t.http.get('/v1/agents').expect(200);
      const echo = (agents.body as { data: { id: string; name: string }[] }).data.find(
        (a) => a.name === 'echo',
      );
      const created = await t.http.post('/v1/sessions').send({ agent_id: echo?.id }).expect(201);
      await t.http.get(`/v1/sessions/${(created.body as { id: string }).id}`).expect(200);
      expect(t.config.database).toMatchObject({ embedded: true, url: undefined });
    } finally {
      await t.close();
    }
    expect(existsSync(t.config.database.dataDir)).toBe(false);
  }, 130_000);

  it('should stop with one line pointing at DATABASE_URL on a platform without a binary', async () => {
    const dataDir = track(newDataDir());
    const preload = join(dataDir, 'other-arch.js');
    writeFileSync(preload, "Object.defineProperty(process, 'arch', { value: 'mips' });\n");
    const server = spawnCli(['serve'], {
      NODE_OPTIONS: `--require ${preload}`,
      OMNIGENT_DATA_DIR: dataDir,
      OMNIGENT_PORT: '0',
    });

    expect(await server.exited).toBe(1);
    expect(server.output()).toBe(
      `omnigent serve: No embedded PostgreSQL binary for ${process.platform}-mips: set DATABASE_URL to a PostgreSQL 15+ server.\n`,
    );
    expect(existsSync(join(dataDir, 'postgres'))).toBe(false);
  });

  it('should import a PGlite data directory once, keep it as a backup and say where', async () => {
    const dataDir = track(embeddedDataDir());
    const agentId = newId(IdPrefix.Agent);
    const sessionId = newId(IdPrefix.Session);
    const message = (id: string, role: 'user' | 'assistant', text: string) => ({
      session_id: sessionId,
      id,
      response_id: 'resp_imported',
      type: 'message',
      status: 'completed',
      text_content: text,
      data: {
        role,
        content: [{ type: role === 'user' ? 'input_text' : 'output_text', text }],
      },
    });
    const rows = {
      users: [{ id: 'local', is_admin: true }],
      agents: [
        {
          id: agentId,
          name: 'kept-from-pglite',
          harness: 'echo',
          spec: { name: 'kept-from-pglite', executor: { harness: 'echo' } },
          yaml: 'name: kept-from-pglite\nexecutor:\n  harness: echo\n',
        },
      ],
      sessions: [{ id: sessionId, owner_id: 'local', agent_id: agentId, title: 'from PGlite' }],
      items: [
        message(newId(IdPrefix.Message), 'user', 'hello from before'),
        message(newId(IdPrefix.Message), 'assistant', 'still here'),
      ],
      session_event_log: [
        { session_id: sessionId, seq: 1, type: 'session.status', payload: { status: 'idle' } },
      ],
    };
    execFileSync(process.execPath, [
      join(__dirname, '..', 'utils', 'pglite-data-dir.js'),
      join(dataDir, 'pglite'),
      JSON.stringify(rows),
    ]);

    const server = await startServer({ OMNIGENT_DATA_DIR: dataDir });
    expect(server.output()).toContain(`Found a PGlite database in ${join(dataDir, 'pglite')}`);
    expect(server.output()).toMatch(/Imported 6 rows from PGlite/);
    const backups = readdirSync(dataDir).filter((f) => f.startsWith('pglite.imported-'));
    expect(backups).toHaveLength(1);
    expect(server.output()).toContain(`kept as a backup in ${join(dataDir, backups[0])}`);
    expect(existsSync(join(dataDir, 'pglite'))).toBe(false);

    const snapshot = await httpApi(server.url).ok<{
      title: string;
      items: { data: { role: string; content: { text: string }[] } }[];
    }>('GET', `/v1/sessions/${sessionId}`);
    expect(snapshot.title).toBe('from PGlite');
    expect(snapshot.items.map((i) => [i.data.role, i.data.content[0].text])).toEqual([
      ['user', 'hello from before'],
      ['assistant', 'still here'],
    ]);
    const client = await sql(dataDir);
    try {
      // The items' position counter continues after the imported rows.
      const { rows: seq } = await client.query<{ next: string; max: string }>(
        `SELECT nextval(pg_get_serial_sequence('items', 'position')) AS next,
                (SELECT max(position) FROM items) AS max`,
      );
      expect(Number(seq[0].next)).toBeGreaterThan(Number(seq[0].max));
    } finally {
      await client.end();
    }
    await server.stop();

    const again = await startServer({ OMNIGENT_DATA_DIR: dataDir });
    expect(again.output()).not.toContain('PGlite');
    await expect(httpApi(again.url).ok('GET', `/v1/sessions/${sessionId}`)).resolves.toMatchObject({
      title: 'from PGlite',
    });
    await again.stop();
  }, 200_000);
});
