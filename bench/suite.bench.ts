/**
 * `npm run bench`: every scenario of issue 12 against OUR server and a raw `node:http` baseline
 * doing the same job (`bench/raw-baseline.ts`: the same bytes, the same fan-out) in the SAME run,
 * so the ratio holds on a busy machine. Both are separate processes on loopback; this process
 * is the client of both. Prints a table and writes `bench/results/<date>[-embedded][-quick].json`.
 *
 *   npm run bench                  # PostgreSQL (BENCH_DATABASE_URL, a scratch database)
 *   npm run bench -- --quick       # a few seconds per scenario (development)
 *   npm run bench -- --embedded    # the embedded PostgreSQL (no DATABASE_URL)
 *   npm run bench -- --only snapshot,list
 *   npm run bench -- --profile <dir>   # the server runs under `node --cpu-prof` (one .cpuprofile per start)
 *
 * Scenarios: start-up (first, warm); snapshot of a 100-item session; session list; items page;
 * conditional snapshot (If-None-Match → 304); stream fan-out of a `/stream <n>` turn to 100 and
 * 1,000 subscribers; turn overhead (50 sessions posting turns back to back); idle streams
 * (RSS, heartbeat CPU); durable runner events per second (bench/runner-ingest, PostgreSQL only).
 */
import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  admin,
  cpuSeconds,
  databaseUrl,
  percentile,
  ROOT,
  rssMb,
  startNode,
  stop,
  waitForOutput,
} from 'bench/bench-process';
import { history } from 'bench/fixtures';
import { interleaved, load, LoadResult, subscribe } from 'bench/http-load';

const args = process.argv.slice(3);
const QUICK = args.includes('--quick');
const EMBEDDED = args.includes('--embedded');
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
const LOAD_MS = QUICK ? 3_000 : 10_000;
const CONNECTIONS = 10;
const HEARTBEAT_MS = 1_000;
const FANOUT_DELTAS = QUICK ? 100 : 300;
const TURN_SESSIONS = 50;
const IDLE_STREAMS = QUICK ? 1_000 : 10_000;
const PROFILE_DIR = args.includes('--profile') ? args[args.indexOf('--profile') + 1] : null;

interface Row {
  scenario: string;
  metric: string;
  ours: number;
  raw: number | null;
  /** ours/raw for rates, raw/ours for times: above 1 is better than raw, always. */
  ratio: number | null;
  detail: string;
}

const rows: Row[] = [];
const wanted = (name: string) => !ONLY || ONLY.includes(name);

function record(row: Omit<Row, 'ratio'>, higherIsBetter = true): void {
  const ratio =
    row.raw === null || row.raw === 0 || row.ours === 0
      ? null
      : higherIsBetter
        ? row.ours / row.raw
        : row.raw / row.ours;
  rows.push({ ...row, ratio });
  const fmt = (n: number | null) => (n === null ? '—' : n >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log(
    `${row.scenario.padEnd(28)} ${row.metric.padEnd(24)} ${fmt(row.ours).padStart(10)} ` +
      `${fmt(row.raw).padStart(10)} ${ratio === null ? '—'.padStart(7) : `${ratio.toFixed(2)}×`.padStart(7)}  ${row.detail}`,
  );
}

class Api {
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

interface Server {
  proc: ChildProcess;
  url: string;
  /** ms from spawn to the first 200 from /health. */
  startMs: number;
}

async function startServer(env: Record<string, string>): Promise<Server> {
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

async function startRaw(config: object, dir: string): Promise<Server> {
  const file = join(dir, `raw-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(config));
  const t0 = performance.now();
  const proc = startNode([join(ROOT, 'dist', 'bench', 'raw-baseline.js'), file]);
  const url = await waitForOutput(proc, /Listening on (http:\/\/[0-9.:[\]]+)/, 30_000);
  return { proc, url, startMs: performance.now() - t0 };
}

function userMessage(text: string): Record<string, unknown> {
  return { type: 'message', data: { role: 'user', content: [{ type: 'input_text', text }] } };
}

function loadDetail(ours: LoadResult, raw: LoadResult): string {
  const codes = Object.entries(ours.status)
    .map(([code, n]) => `${code}×${n}`)
    .join(' ');
  return (
    `p50 ${ours.p50.toFixed(1)}/${raw.p50.toFixed(1)} ms, p99 ${ours.p99.toFixed(1)}/` +
    `${raw.p99.toFixed(1)} ms, ${Math.round(ours.bytes)} B, ${codes}`
  );
}

/**
 * The same GET against ours and raw: req/s, and the CPU each server process spent per request
 * (from /proc): on a shared machine the rate is the machine's, the CPU per request is the
 * server's own cost. Latencies come from one load each; the ratio and the CPU per request from
 * alternating bursts (`interleaved`), so a load that comes and goes weighs on both sides alike.
 */
async function compareGet(
  scenario: string,
  ours: { url: string; pid: number },
  raw: { url: string; pid: number },
  headers?: Record<string, string>,
): Promise<void> {
  const options = { connections: CONNECTIONS, durationMs: LOAD_MS / 4 };
  const a = await load(ours.url, { ...options, headers });
  const b = await load(raw.url, options);
  const rounds = Math.max(2, Math.round(LOAD_MS / 1000));
  const both = await interleaved([{ ...ours, headers }, raw], {
    connections: CONNECTIONS,
    rounds,
    burstMs: 500,
  });
  record({
    scenario,
    metric: 'req/s',
    ours: both.rps[0],
    raw: both.rps[1],
    detail: loadDetail(a, b),
  });
  record(
    {
      scenario,
      metric: 'server CPU ms/req',
      ours: both.cpuMs[0],
      raw: both.cpuMs[1],
      detail: 'raw/ours',
    },
    false,
  );
}

/** Subscribers on `url`; POST `go()`; time until every one has `done` (frames after the POST). */
async function fanOut(
  url: string,
  n: number,
  go: () => Promise<unknown>,
  done: string,
): Promise<{ seconds: number; frames: number; p50: number; p99: number; firstMs: number }> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const subscribers = await subscribe(url, n, agent);
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const s of subscribers) {
    s.reset();
    s.frames = 0;
  }
  const t0 = performance.now();
  const finished = subscribers.map((s) => s.waitFor(done, 0));
  await go();
  const times = (await Promise.all(finished)).map((t) => t - t0).sort((x, y) => x - y);
  const frames = subscribers.reduce((sum, s) => sum + s.frames, 0);
  for (const s of subscribers) {
    s.close();
  }
  agent.destroy();
  return {
    seconds: (times[times.length - 1] ?? 0) / 1000,
    frames,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    firstMs: times[0] ?? 0,
  };
}

/**
 * `count` sessions each posting turns back to back for LOAD_MS: turns/s, POST → first
 * `response.output_text.delta` and POST → `response.completed` (p50/p99).
 */
async function turns(base: string, api: Api, echo: string, count: number): Promise<void> {
  const sessions = await Promise.all(
    Array.from(
      { length: count },
      async () =>
        (await api.call<{ id: string }>('POST', '/v1/sessions', { agent_id: echo })).body.id,
    ),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const streams = await Promise.all(
    sessions.map(async (s) => (await subscribe(`${base}/v1/sessions/${s}/stream`, 1, agent))[0]),
  );
  const firstDelta: number[] = [];
  const done: number[] = [];
  const deadline = performance.now() + LOAD_MS;
  const t0 = performance.now();
  await Promise.all(
    sessions.map(async (s, i) => {
      const stream = streams[i];
      while (performance.now() < deadline) {
        stream.reset();
        const delta = stream.waitFor('event: response.output_text.delta', 0);
        const end = stream.waitFor('event: response.completed', 0);
        const posted = performance.now();
        await api.call('POST', `/v1/sessions/${s}/events`, userMessage('hello there, bench'));
        firstDelta.push((await delta) - posted);
        done.push((await end) - posted);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  for (const s of streams) {
    s.close();
  }
  agent.destroy();
  firstDelta.sort((x, y) => x - y);
  done.sort((x, y) => x - y);
  record({
    scenario: `turns, ${count} session${count === 1 ? '' : 's'}`,
    metric: 'turns/s',
    ours: done.length / seconds,
    raw: null,
    detail:
      `POST→first delta p50 ${percentile(firstDelta, 50).toFixed(1)} ms p99 ${percentile(firstDelta, 99).toFixed(1)} ms; ` +
      `POST→completed p50 ${percentile(done, 50).toFixed(1)} ms p99 ${percentile(done, 99).toFixed(1)} ms`,
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'omnigent-bench-'));
  const dbName = `omnigent_bench_${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = { OMNIGENT_DATA_DIR: join(dir, 'data') };
  if (!EMBEDDED) {
    await admin(`CREATE DATABASE ${dbName}`);
    env.DATABASE_URL = databaseUrl(dbName);
  }
  const started: ChildProcess[] = [];
  console.log(
    `npm run bench (${EMBEDDED ? 'embedded PostgreSQL' : 'PostgreSQL'}${QUICK ? ', quick' : ''}); ` +
      `${CONNECTIONS} connections, ${LOAD_MS / 1000} s per load`,
  );
  console.log(
    `${'scenario'.padEnd(28)} ${'metric'.padEnd(24)} ${'ours'.padStart(10)} ${'raw'.padStart(10)} ${'ratio'.padStart(7)}`,
  );
  try {
    // Start-up: first (database created or migrated) and warm, against a raw server's start.
    const first = await startServer(env);
    await stop(first.proc);
    const warm = await startServer(env);
    const server = warm.proc;
    started.push(server);
    const api = new Api(warm.url);

    const agents = await api.call<{ data: { id: string; name: string }[] }>('GET', '/v1/agents');
    const echo = agents.body.data.find((a) => a.name === 'echo')?.id;
    if (!echo) {
      throw new Error('no echo agent');
    }

    // Fixtures: one 100-item session, 60 more for the list.
    const big = await api.call<{ id: string }>('POST', '/v1/sessions', {
      agent_id: echo,
      title: 'bench 100 items',
      initial_items: history(100),
    });
    const id = big.body.id;
    for (let i = 0; i < 60; i++) {
      await api.call('POST', '/v1/sessions', { agent_id: echo, title: `bench ${i}` });
    }
    // The runner comes after the seeded session: with a runner online, initial_items start a
    // turn (their items would no longer be the 100 seeded).
    const runner = startNode(
      [join(ROOT, 'bin', 'omnigent.js'), 'runner', '--server', warm.url, '--workspace', dir],
      { OMNIGENT_LOG_LEVEL: 'warn' },
    );
    started.push(runner);
    await waitForOutput(runner, /Runner (runner_\S+) connected/, 60_000);
    const paths = {
      snapshot: `/v1/sessions/${id}`,
      list: '/v1/sessions?limit=50',
      items: `/v1/sessions/${id}/items?limit=100`,
    };
    const recorded = await Promise.all(
      Object.values(paths).map(async (path) => {
        const res = await api.call('GET', path);
        return {
          path,
          contentType: res.headers.get('content-type') ?? 'application/json',
          body: res.text,
        };
      }),
    );

    const snapshotItems = (JSON.parse(recorded[0].body) as { items: unknown[] }).items.length;
    console.log(
      `${recorded.map((r) => `${r.path.replace(id, '{id}')}: ${r.body.length} B`).join(', ')}; ` +
        `the snapshot holds ${snapshotItems} items`,
    );
    // One /stream turn, recorded from a subscriber, is what the raw baseline fans out.
    const fanSession = (await api.call<{ id: string }>('POST', '/v1/sessions', { agent_id: echo }))
      .body.id;
    const probeAgent = new Agent({ keepAlive: false });
    const [probe] = await subscribe(`${warm.url}/v1/sessions/${fanSession}/stream`, 1, probeAgent);
    await probe.waitFor('\n\n', 0);
    const ack = probe.text;
    probe.reset();
    const completed = probe.waitFor('event: response.completed', 0);
    await api.call(
      'POST',
      `/v1/sessions/${fanSession}/events`,
      userMessage(`/stream ${FANOUT_DELTAS}`),
    );
    await completed;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const frames = probe.text.split(/(?<=\n\n)/).filter((f) => f.trim() !== '');
    probe.close();
    probeAgent.destroy();
    const heartbeat = ack.split(/(?<=\n\n)/)[0];

    const raw = await startRaw(
      { routes: recorded, ack, heartbeat, heartbeatMs: HEARTBEAT_MS, frames },
      dir,
    );
    started.push(raw.proc);
    // Raw start-up, measured the same way (spawn → listening): node itself, no app.
    if (wanted('startup')) {
      record(
        {
          scenario: 'start-up, first',
          metric: 'ms to /health',
          ours: first.startMs,
          raw: raw.startMs,
          detail: EMBEDDED ? 'initdb + migrations' : 'migrations on an empty database',
        },
        false,
      );
      record(
        {
          scenario: 'start-up, warm',
          metric: 'ms to /health',
          ours: warm.startMs,
          raw: raw.startMs,
          detail: 'raw = node:http spawn → listening',
        },
        false,
      );
    }

    const oursAt = (path: string) => ({ url: warm.url + path, pid: server.pid as number });
    const rawAt = (path: string) => ({ url: raw.url + path, pid: raw.proc.pid as number });
    if (wanted('snapshot')) {
      await compareGet('snapshot, 100 items', oursAt(paths.snapshot), rawAt(paths.snapshot));
    }
    if (wanted('list')) {
      await compareGet('session list, limit 50', oursAt(paths.list), rawAt(paths.list));
    }
    if (wanted('items')) {
      await compareGet('items page, limit 100', oursAt(paths.items), rawAt(paths.items));
    }
    if (wanted('conditional')) {
      const etag = (await api.call('GET', paths.snapshot)).headers.get('etag');
      if (etag) {
        await compareGet(
          'snapshot, If-None-Match (raw: 200)',
          oursAt(paths.snapshot),
          rawAt(paths.snapshot),
          { 'if-none-match': etag },
        );
      } else {
        console.log('snapshot, If-None-Match: no ETag on the snapshot, skipped');
      }
    }

    for (const n of [100, 1_000]) {
      if (!wanted('fanout')) {
        break;
      }
      const session = (await api.call<{ id: string }>('POST', '/v1/sessions', { agent_id: echo }))
        .body.id;
      const a = await fanOut(
        `${warm.url}/v1/sessions/${session}/stream`,
        n,
        () =>
          api.call(
            'POST',
            `/v1/sessions/${session}/events`,
            userMessage(`/stream ${FANOUT_DELTAS}`),
          ),
        'event: response.completed',
      );
      const b = await fanOut(
        `${raw.url}/stream`,
        n,
        () => fetch(`${raw.url}/go`, { method: 'POST' }),
        'event: response.completed',
      );
      record({
        scenario: `fan-out to ${n}`,
        metric: 'frames/s delivered',
        ours: a.frames / a.seconds,
        raw: b.frames / b.seconds,
        detail: `${FANOUT_DELTAS} deltas; all done p50 ${a.p50.toFixed(0)}/${b.p50.toFixed(0)} ms, p99 ${a.p99.toFixed(0)}/${b.p99.toFixed(0)} ms; ${a.frames}/${b.frames} frames`,
      });
      record(
        {
          scenario: `fan-out to ${n}`,
          metric: 'p99 ms POST→completed',
          ours: a.p99,
          raw: b.p99,
          detail: 'raw/ours',
        },
        false,
      );
    }

    if (wanted('turns')) {
      // One session alone first: the fixed cost of a turn, without queueing behind others.
      for (const count of [1, TURN_SESSIONS]) {
        await turns(warm.url, api, echo, count);
      }
    }

    if (wanted('idle')) {
      const idleOf = async (url: string, pid: number) => {
        const before = rssMb(pid);
        const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
        const subscribers = await subscribe(url, IDLE_STREAMS, agent);
        await new Promise((resolve) => setTimeout(resolve, 2 * HEARTBEAT_MS));
        const cpu0 = cpuSeconds(pid);
        const window = QUICK ? 3_000 : 10_000;
        await new Promise((resolve) => setTimeout(resolve, window));
        const cpu = (cpuSeconds(pid) - cpu0) / (window / 1000);
        const rss = rssMb(pid);
        for (const s of subscribers) {
          s.close();
        }
        agent.destroy();
        return { before, rss, cpu };
      };
      const idleSession = (
        await api.call<{ id: string }>('POST', '/v1/sessions', { agent_id: echo })
      ).body.id;
      const a = await idleOf(`${warm.url}/v1/sessions/${idleSession}/stream`, server.pid as number);
      const b = await idleOf(`${raw.url}/stream`, raw.proc.pid as number);
      record(
        {
          scenario: `${IDLE_STREAMS} idle streams`,
          metric: 'RSS MB',
          ours: a.rss,
          raw: b.rss,
          detail: `idle before: ${a.before.toFixed(0)}/${b.before.toFixed(0)} MB`,
        },
        false,
      );
      record(
        {
          scenario: `${IDLE_STREAMS} idle streams`,
          metric: 'CPU % (heartbeat 1 s)',
          ours: a.cpu * 100,
          raw: b.cpu * 100,
          detail: 'one core = 100',
        },
        false,
      );
    }
    await stop(runner);
    await stop(server);
    await stop(raw.proc);

    if (wanted('ingest') && !EMBEDDED) {
      const ingest = startNode([join(ROOT, 'bench', 'run.js'), 'runner-ingest'], {
        BENCH_EVENTS: QUICK ? '10000' : '50000',
      });
      started.push(ingest);
      const exited = new Promise((resolve) => ingest.once('exit', resolve));
      const line = await waitForOutput(ingest, /(\d+) events\/s/, 600_000);
      await exited;
      record({
        scenario: 'runner ingest',
        metric: 'durable events/s',
        ours: Number(line),
        raw: null,
        detail: 'bench/runner-ingest, target ≥ 5,000',
      });
    }
  } finally {
    for (const proc of started.reverse()) {
      await stop(proc);
    }
    rmSync(dir, { recursive: true, force: true });
    if (!EMBEDDED) {
      await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    }
  }
  const date = new Date().toISOString().slice(0, 10);
  const out = join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `${date}${EMBEDDED ? '-embedded' : ''}${QUICK ? '-quick' : ''}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        mode: EMBEDDED ? 'embedded' : 'postgresql',
        quick: QUICK,
        node: process.version,
        cpus: (await import('node:os')).cpus().length,
        loadavg: (await import('node:os')).loadavg(),
        rows,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`written to ${file}`);
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
