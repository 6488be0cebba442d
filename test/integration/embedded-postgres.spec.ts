import { spawn } from 'node:child_process';
import { chmodSync, lstatSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client, Notification } from 'pg';

import { EmbeddedPostgres, startEmbeddedPostgres } from 'src/database/embedded/embedded-postgres';
import { runningAsRoot } from 'src/database/embedded/os-account';
import { processAlive, readPostmasterPid } from 'src/database/embedded/postmaster';
import { describeIntegration } from 'test/integration/integration-context';
import { embeddedDataDir, newDataDir, removeDataDir } from 'test/utils/test-database';

describeIntegration('PostgreSQL LISTEN/NOTIFY (the production bus path)', (ctx) => {
  it('should deliver a NOTIFY from one connection to a LISTEN on another', async () => {
    const listener = new Client({ connectionString: ctx.url });
    const notifier = new Client({ connectionString: ctx.url });
    await Promise.all([listener.connect(), notifier.connect()]);
    try {
      const received = new Promise<Notification>((resolve) => listener.on('notification', resolve));
      await listener.query('LISTEN omnigent_test');
      await notifier.query(`SELECT pg_notify('omnigent_test', $1)`, ['{"seq":1}']);

      await expect(received).resolves.toMatchObject({
        channel: 'omnigent_test',
        payload: '{"seq":1}',
      });
    } finally {
      await Promise.all([listener.end(), notifier.end()]);
    }
  });
});

describe('the embedded PostgreSQL engine', () => {
  const dirs: string[] = [];
  const running: EmbeddedPostgres[] = [];
  const start = async (dataDir: string) => {
    const db = await startEmbeddedPostgres({ dataDir });
    running.push(db);
    return db;
  };

  afterAll(async () => {
    await Promise.all(running.map((db) => db.stop()));
    dirs.forEach(removeDataDir);
  });

  it('should accept only password logins, on 127.0.0.1 only, with the password in a 0600 file', async () => {
    const dataDir = embeddedDataDir();
    dirs.push(dataDir);
    const db = await start(dataDir);

    expect(statSync(join(dataDir, 'postgres.password')).mode & 0o777).toBe(0o600);
    const hba = readFileSync(join(db.pgdata, 'pg_hba.conf'), 'utf8');
    expect(hba.split('\n').filter((l) => /^\s*[^#\s]/.test(l) && /\btrust\b/.test(l))).toEqual([]);
    const wrong = new Client({ connectionString: db.url.replace(/:[^:@/]+@/, ':wrong@') });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT current_setting('listen_addresses') AS listen,
                current_setting('unix_socket_directories') AS sockets`,
      );
      expect(rows).toEqual([{ listen: '127.0.0.1', sockets: '' }]);
    } finally {
      await client.end();
    }
  });

  it('should refuse a second start on a data directory whose database is in use', async () => {
    const dataDir = embeddedDataDir();
    dirs.push(dataDir);
    await start(dataDir);

    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(
      `The embedded database in ${realpathSync(dataDir)} is in use by another Omnigent server (pid ${process.pid})`,
    );
  });

  it('should come back with every committed row after PostgreSQL itself was killed', async () => {
    const dataDir = embeddedDataDir();
    dirs.push(dataDir);
    const db = await startEmbeddedPostgres({ dataDir });
    const client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(
      `INSERT INTO users (id) SELECT 'crash-' || g FROM generate_series(1, 100) g`,
    );
    await client.end();
    process.kill(db.pid, 'SIGKILL');
    while (processAlive(db.pid)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const again = await start(dataDir);
    const check = new Client({ connectionString: again.url });
    await check.connect();
    try {
      const { rows } = await check.query(
        `SELECT count(*)::int AS n FROM users WHERE id LIKE 'crash-%'`,
      );
      expect(rows).toEqual([{ n: 100 }]);
    } finally {
      await check.end();
    }
  });

  it('should start when postmaster.pid names a live process that is not this database (a reused pid)', async () => {
    const dataDir = embeddedDataDir();
    dirs.push(dataDir);
    const other = spawn('sleep', ['60']);
    try {
      const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
      writeFileSync(
        pidFile,
        `${other.pid}\n${join(dataDir, 'postgres')}\n1796211586\n1\n\n127.0.0.1\n0 0\nready   \n`,
      );

      const db = await start(dataDir);

      expect(readPostmasterPid(db.pgdata)?.pid).toBe(db.pid);
      expect(processAlive(other.pid as number)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });

  (runningAsRoot() ? it : it.skip)(
    'should keep the files of a data directory its OS account cannot reach in /var/lib/omnigent, linked from it',
    async () => {
      const dataDir = newDataDir();
      dirs.push(dataDir);
      chmodSync(dataDir, 0o700);

      const db = await start(dataDir);

      expect(lstatSync(join(dataDir, 'postgres')).isSymbolicLink()).toBe(true);
      expect(realpathSync(join(dataDir, 'postgres'))).toBe(db.pgdata);
      expect(db.pgdata).toMatch(/^\/var\/lib\/omnigent\/data-[0-9a-f]{16}$/);
      expect(statSync(db.pgdata).mode & 0o777).toBe(0o700);
      await db.stop();
      running.splice(running.indexOf(db), 1);

      const again = await start(dataDir);
      expect(again.pgdata).toBe(db.pgdata);
    },
    60_000,
  );
});
