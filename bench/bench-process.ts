/** Process, database and statistics helpers shared by the benchmarks in `bench/`. */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client } from 'pg';

/** The repository: above dist/bench when compiled, above bench/ when Jest runs the source. */
export const ROOT = existsSync(join(__dirname, '..', 'package.json'))
  ? join(__dirname, '..')
  : join(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'omnigent.js');
export const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function admin(sql: string, params: unknown[] = [], url = ADMIN_URL): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** The processes `startNode` started that have not exited yet. */
const children = new Set<ChildProcess>();

/**
 * Kills (SIGKILL) every process `startNode` started that is still running. It runs when this
 * process exits, however it exits (a scenario's error, an uncaught exception, Ctrl-C, `kill`),
 * so a failed or interrupted bench leaves no server, runner or baseline behind to skew the next
 * run (they did: a later run measured against a machine still serving the last one).
 */
function reapChildren(): void {
  for (const child of children) {
    child.kill('SIGKILL');
  }
}

let reaping = false;

function reapOnExit(): void {
  if (reaping) {
    return;
  }
  reaping = true;
  process.once('exit', reapChildren);
  // A signal's default action ends the process without 'exit': reap, then die of it as before.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      reapChildren();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Starts `node <args>` from the repository root with the given extra environment; the process
 * is killed when this one exits (`reapChildren`).
 */
export function startNode(args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  reapOnExit();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves with the first capture group of `pattern` in the process's output. */
export function waitForOutput(
  proc: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}:\n${output.slice(-2000)}`)),
      timeoutMs,
    );
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before ${pattern}:\n${output.slice(-2000)}`));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        // Keep draining (a full pipe would block the child) without keeping what it says.
        proc.stdout?.off('data', onData);
        proc.stderr?.off('data', onData);
        proc.off('exit', onExit);
        proc.stdout?.resume();
        proc.stderr?.resume();
        resolve(match[1]);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', onExit);
  });
}

export function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** The process ids of the backends connected to the database at `url` (other than this query's). */
export async function backendPids(url: string): Promise<number[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

/** User + system CPU time the process has used, in seconds (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The whole machine's CPU time (`/proc/stat`, all cores): busy and total, in clock ticks. */
export interface MachineTicks {
  busy: number;
  total: number;
}

export function machineTicks(): MachineTicks {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  // cpu user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, t) => sum + t, 0);
  return { busy: total - ticks[3] - ticks[4], total };
}

/** The share (0–1) of the machine's CPU time that was busy between two `machineTicks()`. */
export function busyShare(from: MachineTicks, to: MachineTicks): number {
  const total = to.total - from.total;
  return total > 0 ? (to.busy - from.busy) / total : NaN;
}

/** The value at percentile p (0–100) of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) {
    return NaN;
  }
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}
