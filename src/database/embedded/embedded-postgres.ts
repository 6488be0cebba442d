import { spawn } from 'node:child_process';
import { chownSync, existsSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';

import { Logger } from '@nestjs/common';
import { Client } from 'pg';

import {
  DataLayout,
  makePrivateDir,
  reachableBinaries,
  readPassword,
  resolveLayout,
  siblingTemp,
} from 'src/database/embedded/data-layout';
import { EmbeddedPostgresError } from 'src/database/embedded/embedded-postgres.errors';
import { ensureDatabaseAccount, OsAccount, runningAsRoot } from 'src/database/embedded/os-account';
import { importPgliteIfPresent } from 'src/database/embedded/pglite-import';
import { findPostgresBinaries, PostgresBinaries } from 'src/database/embedded/postgres-binaries';
import {
  freePort,
  PortInUseError,
  processAlive,
  readPostmasterPid,
  sleep,
  spawnPostmaster,
  stopPostmaster,
} from 'src/database/embedded/postmaster';

/** The superuser initdb creates, and the database the server uses. */
export const EMBEDDED_USER = 'omnigent';
export const EMBEDDED_DATABASE = 'omnigent';
/**
 * Held for its whole life by the server that owns the database, on a connection of its own
 * (`pg_try_advisory_lock`). PostgreSQL releases it the moment that server dies, however it
 * dies, so it tells a live owner from a crashed one without trusting any pid.
 */
const OWNER_LOCK_KEY = '7101113105116';
const GUARD_APP = 'omnigent-owner';
const OWNER_LOCK_WAIT_MS = 5_000;

export interface EmbeddedPostgresOptions {
  /** The server's data directory (`OMNIGENT_DATA_DIR`). */
  dataDir: string;
  logger?: Logger;
}

export interface EmbeddedPostgres {
  /** `postgres://omnigent:…@127.0.0.1:<port>/omnigent`, for the normal driver and pool. */
  url: string;
  port: number;
  /** The PostgreSQL data directory. */
  pgdata: string;
  /** The postmaster's pid (ours, or one adopted after a crash). */
  pid: number;
  /** Closes the owner connection and shuts PostgreSQL down (fast: committed data is kept). */
  stop(): Promise<void>;
}

function connectionUrl(port: number, password: string, database: string): string {
  return `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/** `18.4.0-beta.17` (the package version) → `18.4` (the PostgreSQL version). */
const majorMinor = (version: string) => version.split('.').slice(0, 2).join('.');

function sameDir(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

async function connect(port: number, password: string): Promise<Client> {
  const client = new Client({
    connectionString: connectionUrl(port, password, 'postgres'),
    application_name: `${GUARD_APP} pid=${process.pid}`,
    connectionTimeoutMillis: 5_000,
  });
  // Errors after a successful connect (the database stopping under us) must not crash the process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The pid of the server holding the owner lock, from its connection's application_name. */
async function ownerPid(client: Client): Promise<number | undefined> {
  const { rows } = await client.query<{ application_name: string }>(
    `SELECT application_name FROM pg_stat_activity
      WHERE application_name LIKE '${GUARD_APP} pid=%' AND pid <> pg_backend_pid()`,
  );
  const pid = Number(rows[0]?.application_name.split('pid=')[1]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Takes the owner lock, or says which server holds it. A server killed a moment ago may hold
 * it until PostgreSQL notices the closed connection: while the holder's process is gone, the
 * lock is retried briefly.
 */
async function takeOwnership(client: Client, layout: DataLayout): Promise<void> {
  const deadline = Date.now() + OWNER_LOCK_WAIT_MS;
  let holder: number | undefined;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      [OWNER_LOCK_KEY],
    );
    if (rows[0].locked) {
      return;
    }
    holder = await ownerPid(client);
    if ((holder && processAlive(holder)) || Date.now() > deadline) {
      break;
    }
    await sleep(50);
  }
  await client.end().catch(() => undefined);
  throw new EmbeddedPostgresError(
    `The embedded database in ${layout.dataDir} is in use by another Omnigent server` +
      `${holder ? ` (pid ${holder})` : ''}. Stop that server first, or give this one its own ` +
      'OMNIGENT_DATA_DIR (or a DATABASE_URL).',
  );
}

interface Running {
  pid: number;
  port: number;
  owner: Client;
}

/**
 * A postmaster may still run on this data directory: the previous server was killed (-9) and
 * left it behind, or another server is using it. Adopts the first kind; refuses the second.
 * A postmaster.pid whose pid is alive but is not this database's server (a reused pid after a
 * crash of the whole machine or container) is stale: it is removed so PostgreSQL can start
 * (PostgreSQL's own shared-memory interlock still guards against a second postmaster).
 */
async function adoptRunning(
  layout: DataLayout,
  password: string,
  logger: Logger,
): Promise<Running | null> {
  const deadline = Date.now() + 60_000;
  let pm = readPostmasterPid(layout.pgdata);
  while (pm && processAlive(pm.pid) && pm.status !== 'ready' && Date.now() < deadline) {
    // starting (crash recovery) or stopping: wait until it settles.
    await sleep(50);
    pm = readPostmasterPid(layout.pgdata);
  }
  if (!pm) {
    return null;
  }
  if (!processAlive(pm.pid)) {
    // PostgreSQL removes a stale file itself, unless its pid lingers as a zombie.
    rmSync(`${layout.pgdata}/postmaster.pid`, { force: true });
    return null;
  }
  let client: Client | undefined;
  try {
    client = await connect(pm.port, password);
    const { rows } = await client.query<{ dir: string }>(
      `SELECT current_setting('data_directory') AS dir`,
    );
    if (!sameDir(rows[0].dir, layout.pgdata)) {
      throw new Error(`port ${pm.port} serves ${rows[0].dir}`);
    }
  } catch (error) {
    await client?.end().catch(() => undefined);
    if ((error as { code?: string }).code === '57P03') {
      throw new EmbeddedPostgresError(
        `The embedded PostgreSQL on ${layout.pgdata} (pid ${pm.pid}) is still starting or ` +
          `recovering; try again shortly (its log: ${layout.logFile}).`,
        { cause: error },
      );
    }
    if ((error as { code?: string }).code === '28P01') {
      throw new EmbeddedPostgresError(
        `The embedded PostgreSQL running on ${layout.pgdata} (pid ${pm.pid}) refuses the ` +
          `password in ${layout.passwordFile}.`,
        { cause: error },
      );
    }
    logger.warn(
      `${layout.pgdata}/postmaster.pid names pid ${pm.pid}, which is not this database's ` +
        `server (${(error as Error).message}): removing the stale file`,
    );
    rmSync(`${layout.pgdata}/postmaster.pid`, { force: true });
    return null;
  }
  await takeOwnership(client, layout);
  logger.log(
    `Adopted the embedded PostgreSQL left running by a previous server (pid ${pm.pid}, port ${pm.port})`,
  );
  return { pid: pm.pid, port: pm.port, owner: client };
}

function runInitdb(binaries: PostgresBinaries, args: string[], account?: OsAccount) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(binaries.initdb, args, {
      env: { LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new EmbeddedPostgresError(`initdb failed (exit ${code}):\n${output.trim()}`)),
    );
  });
}

/** initdb into a temporary sibling, renamed into place only once complete. */
async function initialise(
  layout: DataLayout,
  binaries: PostgresBinaries,
  password: string,
  account: OsAccount | undefined,
  logger: Logger,
): Promise<void> {
  const started = Date.now();
  logger.log(
    `First start: initialising the embedded PostgreSQL ${majorMinor(binaries.version)} in ` +
      `${layout.pgdata} (takes a few seconds)…`,
  );
  const temp = siblingTemp(layout.pgdata, 'init');
  const pwfile = siblingTemp(layout.pgdata, 'pw');
  makePrivateDir(temp, account);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (account) {
      chownSync(pwfile, account.uid, account.gid);
    }
    await runInitdb(
      binaries,
      [
        `--pgdata=${temp}`,
        `--username=${EMBEDDED_USER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        // One syncfs() instead of an fsync() per file: as durable, seconds faster on a busy disk.
        ...(process.platform === 'linux' ? ['--sync-method=syncfs'] : []),
      ],
      account,
    );
    renameSync(temp, layout.pgdata);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(pwfile, { force: true });
  }
  logger.log(`Initialised the embedded PostgreSQL in ${Date.now() - started} ms`);
}

async function startOwn(
  layout: DataLayout,
  binaries: PostgresBinaries,
  password: string,
  account: OsAccount | undefined,
): Promise<Running> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let pid: number;
    try {
      pid = await spawnPostmaster({
        binaries,
        pgdata: layout.pgdata,
        port,
        account,
        logFile: layout.logFile,
      });
    } catch (error) {
      if (error instanceof PortInUseError && attempt < 5) {
        continue; // someone took the port between our probe and PostgreSQL's bind
      }
      throw error;
    }
    try {
      const owner = await connect(port, password);
      await takeOwnership(owner, layout);
      return { pid, port, owner };
    } catch (error) {
      // Only a server that failed to own the database it just started leaves it to the owner.
      if (!(error instanceof EmbeddedPostgresError)) {
        await stopPostmaster(pid);
      }
      throw error;
    }
  }
}

async function ensureDatabase(owner: Client): Promise<void> {
  const { rowCount } = await owner.query('SELECT 1 FROM pg_database WHERE datname = $1', [
    EMBEDDED_DATABASE,
  ]);
  if (!rowCount) {
    await owner.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  }
}

/**
 * Starts (or adopts) real PostgreSQL under the data directory, listening on 127.0.0.1 only, on
 * a free port, with password login; imports a PGlite database left by an older version once.
 * Returns once the `omnigent` database accepts connections.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const logger = options.logger ?? new Logger('EmbeddedPostgres');
  const started = Date.now();
  let binaries = findPostgresBinaries();
  let account: OsAccount | undefined;
  if (runningAsRoot()) {
    account = await ensureDatabaseAccount();
    logger.log(
      `Running as root: the embedded PostgreSQL runs as the OS account '${account.name}'` +
        (account.created ? ' (created now)' : ''),
    );
    binaries = reachableBinaries(binaries, account, logger);
  }
  const layout = resolveLayout(options.dataDir, account, logger);
  const initialised = existsSync(`${layout.pgdata}/PG_VERSION`);
  const password = readPassword(layout, !initialised);

  let running = initialised ? await adoptRunning(layout, password, logger) : null;
  if (!running) {
    if (!initialised) {
      await initialise(layout, binaries, password, account, logger);
    }
    running = await startOwn(layout, binaries, password, account);
  }
  const { pid, port, owner } = running;
  const url = connectionUrl(port, password, EMBEDDED_DATABASE);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await owner.end().catch(() => undefined);
      await stopPostmaster(pid);
    })());
  try {
    await ensureDatabase(owner);
    await importPgliteIfPresent(layout.dataDir, url, logger);
  } catch (error) {
    await stop();
    throw error;
  }
  logger.log(
    `Embedded PostgreSQL ${majorMinor(binaries.version)} ready on 127.0.0.1:${port} in ` +
      `${Date.now() - started} ms (${layout.pgdata})`,
  );
  return { url, port, pgdata: layout.pgdata, pid, stop };
}
