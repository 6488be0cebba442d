/** The servers of `npm run bench`: ours (`omnigent serve`) and the raw `node:http` baseline. */
import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT, startNode, waitForOutput } from 'bench/bench-process';
import { HEARTBEAT_MS, PROFILE_DIR } from 'bench/suite/options';

export class Api {
  constructor(readonly base: string) {}

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T; text: string; headers: Headers }> {
    const res = await fetch(new URL(path, this.base), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 400) {
      throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 300)}`);
    }
    return {
      status: res.status,
      body: (text ? JSON.parse(text) : {}) as T,
      text,
      headers: res.headers,
    };
  }
}

export interface Server {
  proc: ChildProcess;
  url: string;
  /** ms from spawn to the first 200 from /health. */
  startMs: number;
}

export async function startServer(env: Record<string, string>): Promise<Server> {
  const t0 = performance.now();
  const profile = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [];
  const proc = startNode([...profile, join(ROOT, 'bin', 'omnigent.js'), 'serve'], {
    OMNIGENT_PORT: '0',
    OMNIGENT_LOCAL_RUNNER: '0',
    OMNIGENT_LOG_LEVEL: 'log',
    OMNIGENT_SSE_HEARTBEAT_MS: String(HEARTBEAT_MS),
    ...env,
  });
  const url = await waitForOutput(proc, /Listening on (http:\/\/[0-9.:[\]]+)/, 120_000);
  for (;;) {
    const res = await fetch(`${url}/health`).catch(() => null);
    if (res?.ok) {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { proc, url, startMs: performance.now() - t0 };
}

export async function startRaw(config: object, dir: string): Promise<Server> {
  const file = join(dir, `raw-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(config));
  const t0 = performance.now();
  const proc = startNode([join(ROOT, 'dist', 'bench', 'raw-baseline.js'), file]);
  const url = await waitForOutput(proc, /Listening on (http:\/\/[0-9.:[\]]+)/, 30_000);
  return { proc, url, startMs: performance.now() - t0 };
}

/**
 * The turn baseline (`bench/turn-harness.ts`: `node:http` + `ws`, no database) and a reference
 * runner of its own connected to it: the same program, started the same way as the one our
 * server drives (bench/suite/setup.ts). Both are stopped by the caller.
 */
export async function startHarness(dir: string): Promise<{ server: Server; runner: ChildProcess }> {
  const t0 = performance.now();
  const proc = startNode([join(ROOT, 'dist', 'bench', 'turn-harness.js')]);
  const url = await waitForOutput(proc, /Listening on (http:\/\/[0-9.:[\]]+)/, 30_000);
  const server = { proc, url, startMs: performance.now() - t0 };
  const runner = startNode(
    [join(ROOT, 'bin', 'omnigent.js'), 'runner', '--server', url, '--workspace', dir],
    { OMNIGENT_LOG_LEVEL: 'warn' },
  );
  try {
    await waitForOutput(runner, /Runner (runner_\S+) connected/, 60_000);
  } catch (error) {
    runner.kill();
    proc.kill();
    throw error;
  }
  return { server, runner };
}

export function userMessage(text: string): Record<string, unknown> {
  return { type: 'message', data: { role: 'user', content: [{ type: 'input_text', text }] } };
}
