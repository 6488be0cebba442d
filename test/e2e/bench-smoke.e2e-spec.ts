import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { transformFileSync } from '@swc/core';

import { history } from 'bench/fixtures';
import { interleaved, load } from 'bench/http-load';
import { startServer, ServerProcess } from 'test/utils/processes';
import { createTestDatabase, databaseUrl, dropTestDatabase } from 'test/utils/test-database';

/**
 * The CI regression guard of issue 12 (`npm run bench` is the full measurement): our read paths
 * against the raw `node:http` baseline answering the same bytes, both on loopback, measured in
 * alternating bursts so a loaded CI machine weighs on both sides alike. Ratios only, never
 * absolute times. A ratio below its floor fails.
 *
 * Issue 12 sets the floor at half the target (0.4× → 0.2×). The targets are not met yet
 * (docs/PERFORMANCE.md: the fixed cost of Node's HTTP server before the fast lane's answer), so
 * the floors are about half of the lowest ratio this guard measured after the list's version
 * key, the batched version statements and the fast front (fourth session: in CI on a loaded and
 * on an idle machine, and alone: snapshot 0.21–0.50×, list 0.18–0.45×, items 0.23–0.62×; the
 * floors were 0.05/0.03/0.05× before); raise them as the figures improve, up to the 0.2×.
 */
const FLOOR = { snapshot: 0.1, list: 0.08, items: 0.1 };

/** Load on each path and each server before the measured bursts (3 paths × 2 servers). */
const WARM_MS = 500;

const ROOT = join(__dirname, '..', '..');

/** bench/raw-baseline.ts, compiled here (it imports Node built-ins only), in its own process. */
async function startRaw(
  dir: string,
  routes: object[],
): Promise<{ proc: ChildProcess; url: string }> {
  const script = join(dir, 'raw-baseline.js');
  writeFileSync(
    script,
    transformFileSync(join(ROOT, 'bench', 'raw-baseline.ts'), {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    }).code,
  );
  const config = join(dir, 'raw.json');
  writeFileSync(
    config,
    JSON.stringify({ routes, ack: '', heartbeat: '', heartbeatMs: 60_000, frames: [] }),
  );
  const proc = spawn(process.execPath, [script, config], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`raw baseline exited (${code})`)));
    proc.stdout.on('data', (chunk: Buffer) => {
      const match = /Listening on (\S+)/.exec(chunk.toString());
      if (match) {
        resolve(match[1]);
      }
    });
  });
  return { proc, url };
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<string> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`${method} ${path} → ${res.status} ${text}`);
  }
  return text;
}

describe('bench smoke: read paths against a raw node:http server (issue 12 regression guard)', () => {
  let dbName: string;
  let server: ServerProcess;
  let raw: { proc: ChildProcess; url: string };
  let dir: string;
  let paths: Record<keyof typeof FLOOR, string>;

  beforeAll(async () => {
    dbName = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'omnigent-bench-smoke-'));
    // As `npm run bench` runs it: request lines logged (JSON), no local runner.
    server = await startServer({ DATABASE_URL: databaseUrl(dbName), OMNIGENT_LOG_FORMAT: 'json' });
    const agents = JSON.parse(await call(server.url, 'GET', '/v1/agents')) as {
      data: { id: string; name: string }[];
    };
    const echo = agents.data.find((a) => a.name === 'echo')?.id;
    const big = JSON.parse(
      await call(server.url, 'POST', '/v1/sessions', {
        agent_id: echo,
        title: 'bench 100 items',
        initial_items: history(100),
      }),
    ) as { id: string };
    for (let i = 0; i < 50; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          call(server.url, 'POST', '/v1/sessions', { agent_id: echo, title: `bench ${i + j}` }),
        ),
      );
    }
    paths = {
      snapshot: `/v1/sessions/${big.id}`,
      list: '/v1/sessions?limit=50',
      items: `/v1/sessions/${big.id}/items?limit=100`,
    };
    const routes = await Promise.all(
      Object.values(paths).map(async (path) => ({
        path,
        contentType: 'application/json; charset=utf-8',
        body: await call(server.url, 'GET', path),
      })),
    );
    raw = await startRaw(dir, routes);
    // Both servers to their steady state on every path before anything is measured, as the
    // bench does (bench/suite/options.ts READS_WARM_MS): our cost per request falls by a third
    // over its first seconds of load (JIT, heap sizing), raw's far sooner, so a cold start
    // measured our warm-up against raw's steady state.
    for (const path of Object.values(paths)) {
      for (const base of [server.url, raw.url]) {
        await load(base + path, { connections: 4, durationMs: WARM_MS });
      }
    }
  }, 60_000);

  afterAll(async () => {
    raw?.proc.kill('SIGTERM');
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    await dropTestDatabase(dbName);
  });

  it.each(Object.keys(FLOOR) as (keyof typeof FLOOR)[])(
    'should keep GET %s above its floor of the raw rate',
    async (name) => {
      const result = await interleaved(
        [
          { url: server.url + paths[name], pid: server.proc.pid as number },
          { url: raw.url + paths[name], pid: raw.proc.pid as number },
        ],
        { connections: 4, rounds: 4, burstMs: 300 },
      );
      // The figures go to the log: a failing CI run says by how much.
      console.log(
        `${name}: ${result.rps[0].toFixed(0)} vs ${result.rps[1].toFixed(0)} req/s = ` +
          `${result.ratio.toFixed(3)}× (floor ${FLOOR[name]}×); server CPU ` +
          `${result.cpuMs[0].toFixed(2)} vs ${result.cpuMs[1].toFixed(2)} ms/req`,
      );
      expect(result.requests[0]).toBeGreaterThan(0);
      expect(result.ratio).toBeGreaterThanOrEqual(FLOOR[name]);
    },
    20_000,
  );
});
