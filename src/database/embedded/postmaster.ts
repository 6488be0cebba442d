import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync } from 'node:fs';
import { createServer } from 'node:net';

import { EmbeddedPostgresError } from 'src/database/embedded/embedded-postgres.errors';
import type { OsAccount } from 'src/database/embedded/os-account';
import type { PostgresBinaries } from 'src/database/embedded/postgres-binaries';

/** What PostgreSQL writes into `<pgdata>/postmaster.pid` (one value per line). */
export interface PostmasterPid {
  pid: number;
  dataDir: string;
  port: number;
  /** `starting`, `stopping`, `ready` or `standby` (empty while PostgreSQL is writing it). */
  status: string;
}

const POLL_MS = 20;
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;
/** A clean environment: PostgreSQL needs nothing from ours, and gets none of its secrets. */
const POSTGRES_ENV = { LC_ALL: 'C' };

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function readPostmasterPid(pgdata: string): PostmasterPid | null {
  let text: string;
  try {
    text = readFileSync(`${pgdata}/postmaster.pid`, 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) {
    return null;
  }
  return {
    pid,
    dataDir: lines[1] ?? '',
    port: Number(lines[3]),
    status: (lines[7] ?? '').trim(),
  };
}

/**
 * Whether a process runs. A zombie does not: a postmaster orphaned by a killed server is
 * reparented to pid 1, which in some containers never reaps it.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Linux: the state follows the parenthesised command name in /proc/<pid>/stat.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** A loopback port nobody listens on right now (PostgreSQL binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function openLog(logFile: string): number {
  try {
    if (statSync(logFile).size > LOG_ROTATE_BYTES) {
      renameSync(logFile, `${logFile}.1`);
    }
  } catch {
    // no log yet
  }
  return openSync(logFile, 'a', 0o600);
}

function logTail(logFile: string, from: number): string {
  try {
    const text = readFileSync(logFile).subarray(from).toString('utf8').trim();
    return text.split('\n').slice(-12).join('\n');
  } catch {
    return '';
  }
}

export interface SpawnOptions {
  binaries: PostgresBinaries;
  pgdata: string;
  port: number;
  account?: OsAccount;
  logFile: string;
}

export class PortInUseError extends Error {}

/**
 * Starts a postmaster on 127.0.0.1:port (no Unix socket) in its own process group, so a
 * terminal's Ctrl-C reaches only the server, which stops the database after closing its pool.
 * Resolves once PostgreSQL reports `ready` in postmaster.pid.
 */
export async function spawnPostmaster(options: SpawnOptions, timeoutMs = 60_000): Promise<number> {
  const { binaries, pgdata, port, account, logFile } = options;
  const logOffset = existsSync(logFile) ? statSync(logFile).size : 0;
  const log = openLog(logFile);
  let child: ChildProcess;
  try {
    child = spawn(
      binaries.postgres,
      [
        '-D',
        pgdata,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
      ],
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: POSTGRES_ENV,
        ...(account ? { uid: account.uid, gid: account.gid } : {}),
      },
    );
  } finally {
    closeSync(log);
  }
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let failure: Error | undefined;
  void spawnError.then((error) => (failure = error));

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (failure) {
      throw new EmbeddedPostgresError(`Could not run ${binaries.postgres}: ${failure.message}`);
    }
    const pid = readPostmasterPid(pgdata);
    if (pid && pid.pid === child.pid && pid.status === 'ready') {
      return pid.pid;
    }
    if (exited) {
      const tail = logTail(logFile, logOffset);
      if (/could not bind|Address already in use/i.test(tail)) {
        throw new PortInUseError(tail);
      }
      throw new EmbeddedPostgresError(
        `The embedded PostgreSQL exited during start-up (log: ${logFile}):\n${tail}`,
      );
    }
    await sleep(POLL_MS);
  }
  if (child.pid) {
    await stopPostmaster(child.pid);
  }
  throw new EmbeddedPostgresError(
    `The embedded PostgreSQL did not become ready within ${timeoutMs / 1000} s (log: ${logFile})`,
  );
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processAlive(pid)) {
    if (Date.now() > deadline) {
      return false;
    }
    await sleep(POLL_MS);
  }
  return true;
}

/**
 * Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit); an immediate one if
 * that hangs. Works for our own child and for a postmaster adopted after a crash alike.
 */
export async function stopPostmaster(pid: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGINT');
  if (await waitForExit(pid, 30_000)) {
    return;
  }
  signal('SIGQUIT');
  if (await waitForExit(pid, 5_000)) {
    return;
  }
  signal('SIGKILL');
  await waitForExit(pid, 5_000);
}
