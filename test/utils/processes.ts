import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  embeddedDataDir,
  newDataDir,
  removeDataDir,
  stopLeftoverPostmaster,
} from 'test/utils/test-database';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'omnigent.js');

export interface ManagedProcess {
  proc: ChildProcess;
  /** Everything the process printed (stdout + stderr). */
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after a grace; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL at once (a crash). */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

const alive = new Set<ChildProcess>();
/** Data directories of embedded-database servers started here: their postmasters may outlive a kill. */
const embeddedDataDirs = new Set<string>();
/** Data directories startServer made itself, removed with the processes (each holds a database copy). */
const ownDataDirs = new Set<string>();

/**
 * Kills every child still running. A test that fails half-way must not leave servers and
 * runners behind, nor keep Jest waiting on their pipes (test/e2e/setup-after-env.ts).
 */
export async function killAllProcesses(): Promise<void> {
  await Promise.all(
    [...alive].map(
      (proc) =>
        new Promise<void>((resolve) => {
          proc.once('exit', () => resolve());
          proc.kill('SIGKILL');
        }),
    ),
  );
  await Promise.all([...embeddedDataDirs].map((dir) => stopLeftoverPostmaster(dir)));
  embeddedDataDirs.clear();
  ownDataDirs.forEach(removeDataDir);
  ownDataDirs.clear();
}
process.once('exit', () => alive.forEach((proc) => proc.kill('SIGKILL')));

function manage(proc: ChildProcess): ManagedProcess {
  alive.add(proc);
  proc.once('exit', () => alive.delete(proc));
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    waiters.forEach((w) => w());
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  return {
    proc,
    exited,
    output: () => output,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`timed out waiting for ${pattern}; output so far:\n${output.slice(-4000)}`),
          );
        }, timeoutMs);
        waiters.add(check);
        void exited.then(() => {
          if (waiters.has(check)) {
            check();
            if (waiters.has(check)) {
              waiters.delete(check);
              clearTimeout(timer);
              reject(
                new Error(`process exited before ${pattern}; output:\n${output.slice(-4000)}`),
              );
            }
          }
        });
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        return proc.exitCode;
      }
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.kill(signal);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Runs the built CLI (`bin/omnigent.js`), as a user would. */
export function spawnCli(
  args: string[],
  env: Record<string, string | undefined> = {},
): ManagedProcess {
  return manage(
    spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
}

/**
 * Runs the built CLI in a pseudo-terminal (util-linux `script`), so readline sees a TTY as at a
 * user's terminal: write keys to `proc.stdin` ('\x03' is Ctrl-C, '\x04' Ctrl-D at a line start).
 */
export function spawnCliInTerminal(
  args: string[],
  env: Record<string, string | undefined> = {},
): ManagedProcess {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return manage(
    spawn('script', ['-qefc', command, '/dev/null'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
}

/** A TCP port free on 127.0.0.1 right now: for a server that must come back on the same port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface ServerProcess extends ManagedProcess {
  url: string;
  dataDir: string;
}

/**
 * Starts `omnigent serve` on a random port: on `DATABASE_URL` when given, else on the embedded
 * default, in a copy of the migrated template (test/global-setup.ts) unless `OMNIGENT_DATA_DIR`
 * names a data directory.
 */
export async function startServer(
  env: Record<string, string | undefined> = {},
): Promise<ServerProcess> {
  const dataDir =
    env.OMNIGENT_DATA_DIR ?? (env.DATABASE_URL ? newDataDir('omnigent-srv-') : embeddedDataDir());
  if (!env.DATABASE_URL) {
    embeddedDataDirs.add(dataDir);
  }
  if (!env.OMNIGENT_DATA_DIR) {
    ownDataDirs.add(dataDir);
  }
  const server = spawnCli(['serve'], {
    OMNIGENT_PORT: '0',
    OMNIGENT_LOG_LEVEL: 'log',
    // Human lines, as the tests' patterns expect; test/e2e/logging.e2e-spec.ts checks JSON.
    OMNIGENT_LOG_FORMAT: 'pretty',
    OMNIGENT_DATA_DIR: dataDir,
    OMNIGENT_LOCAL_RUNNER: '0',
    ...env,
  });
  try {
    const match = await server.waitForOutput(/Listening on (http:\/\/[0-9.:[\]]+)/, 60_000);
    return { ...server, url: match[1], dataDir };
  } catch (error) {
    await server.kill();
    throw error;
  }
}

/** The server environment of a suite run on both databases: PostgreSQL (migrated), or embedded. */
export function databaseEnv(db: 'embedded' | 'postgres'): Record<string, string | undefined> {
  return db === 'postgres'
    ? { DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL, OMNIGENT_DB_MIGRATE: 'false' }
    : {};
}

export interface RunnerProcess extends ManagedProcess {
  runnerId: string;
}

export async function startRunner(
  serverUrl: string,
  args: string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<RunnerProcess> {
  const workspace = mkdtempSync(join(tmpdir(), 'omnigent-ws-'));
  const runner = spawnCli(
    ['runner', '--server', serverUrl, '--workspace', workspace, ...args],
    env,
  );
  try {
    const match = await runner.waitForOutput(/Runner (runner_\S+) connected/, 30_000);
    return { ...runner, runnerId: match[1] };
  } catch (error) {
    await runner.kill();
    throw error;
  }
}
