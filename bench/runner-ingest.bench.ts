/**
 * Durable events per second an honest runner gets through one channel (issue 16, finding 3:
 * target ≥ 5,000/s on PostgreSQL), and how another client's requests fare meanwhile.
 *
 * The real app in this process on a fresh PostgreSQL database. A child process plays the runner,
 * as a real runner is its own process: one connection sends BENCH_EVENTS
 * `response.output_item.done` events (each one stored item + one logged event, the heaviest
 * durable event) for BENCH_SESSIONS sessions, keeping at most BENCH_WINDOW unacknowledged like
 * the reference runner's outbox; the rate is taken from the first send to the last ack. The
 * same child polls `GET /v1/sessions/{id}` of a session of its own back to back meanwhile (the
 * other client); its p50/p99/max are shown. CPU is counted per process over the same window:
 * the server, the child, and the PostgreSQL backends serving the bench database.
 *
 *   npx tsc -p tsconfig.bench.json && node bench/run.js runner-ingest
 *   BENCH_DATABASE_URL=… BENCH_EVENTS=100000 BENCH_SESSIONS=4 node bench/run.js runner-ingest
 *   BENCH_BUS=memory (default: the app's own choice, PostgreSQL LISTEN/NOTIFY here)
 *   BENCH_CPU_PROFILE=ingest.cpuprofile (the server's CPU profile over the ingest window)
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';
import WebSocket from 'ws';

import { admin, cpuSeconds, databaseUrl, percentile, ROOT } from 'bench/bench-process';
import { durableItemEvent } from 'bench/fixtures';
import { createApplication } from 'src/app.factory';
import { getConfig } from 'src/config/app-config';
import { JsonRpcPeer } from 'src/protocol/json-rpc';
import {
  HelloResult,
  Methods,
  RUNNER_PROTOCOL_VERSION,
  RUNNER_SUBPROTOCOL,
} from 'src/protocol/runner-protocol';

const env = process.env;
const EVENTS = Number(env.BENCH_EVENTS ?? 50_000);
const SESSIONS = Number(env.BENCH_SESSIONS ?? 1);
const WINDOW = Number(env.BENCH_WINDOW ?? 5_000);

/** What the runner process reports once every event is acknowledged. */
interface RunnerReport {
  total: number;
  seconds: number;
  sessions: string[];
  latencies: number[];
  cpuSeconds: number;
}

type FromRunner = { ready: true } | { done: RunnerReport };

function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** CPU seconds used so far by the PostgreSQL backends serving the bench database. */
async function databaseCpu(stats: Client, dbName: string): Promise<number> {
  const { rows } = await stats.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [dbName],
  );
  let total = 0;
  for (const { pid } of rows) {
    try {
      total += cpuSeconds(pid);
    } catch {
      // The backend ended between the two reads.
    }
  }
  return total;
}

/** The server side: the app, the CPU accounting and the summary. */
async function serve(): Promise<void> {
  const dbName = `omnigent_bench_${randomBytes(6).toString('hex')}`;
  const url = databaseUrl(dbName);
  await admin(`CREATE DATABASE ${dbName}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'omnigent-bench-'));
  const app = await createApplication(
    getConfig({
      DATABASE_URL: url,
      OMNIGENT_BUS: env.BENCH_BUS ?? 'auto',
      OMNIGENT_DATA_DIR: dataDir,
      OMNIGENT_LOCAL_RUNNER: '0',
      OMNIGENT_LOG_LEVEL: 'error',
    }),
  );
  const stats = new Client({ connectionString: url });
  try {
    await app.listen(0, '127.0.0.1');
    await stats.connect();
    const { port } = app.getHttpServer().address() as { port: number };
    const runner = fork(join(ROOT, 'bench', 'run.js'), ['runner-ingest'], {
      env: { ...env, BENCH_INGEST_SERVER: `127.0.0.1:${port}` },
    });
    const exited = new Promise((resolve) => runner.once('exit', resolve));
    const next = () =>
      new Promise<FromRunner>((resolve, reject) => {
        runner.once('message', (m) => resolve(m as FromRunner));
        runner.once('exit', (code) => reject(new Error(`the runner process exited (${code})`)));
      });
    await next();
    const before = { server: ownCpuSeconds(), db: await databaseCpu(stats, dbName) };
    const profiler = env.BENCH_CPU_PROFILE ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const finished = next();
    runner.send('go');
    const message = await finished;
    const after = { server: ownCpuSeconds(), db: await databaseCpu(stats, dbName) };
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(env.BENCH_CPU_PROFILE as string, JSON.stringify(profile));
      profiler.disconnect();
    }
    await exited;
    const report = (message as { done: RunnerReport }).done;
    const { rows } = await stats.query<{ n: string }>(
      `SELECT count(*) AS n FROM items WHERE session_id = ANY($1)`,
      [report.sessions],
    );
    const { total, seconds } = report;
    const latencies = report.latencies.sort((a, b) => a - b);
    const perThousand = (s: number) => ((s / total) * 1e6).toFixed(0);
    console.log(
      `${total} durable events over ${SESSIONS} session(s), window ${WINDOW}: ${seconds.toFixed(2)} s, ` +
        `${Math.round(total / seconds)} events/s; ${rows[0].n} items stored`,
    );
    console.log(
      `another client's GET /v1/sessions/{id} meanwhile: ${latencies.length} calls, ` +
        `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
        `max ${latencies.at(-1)?.toFixed(1)} ms`,
    );
    console.log(
      `CPU per 1,000 events: server ${perThousand(after.server - before.server)} ms, ` +
        `PostgreSQL backends ${perThousand(after.db - before.db)} ms, ` +
        `runner + other client ${perThousand(report.cpuSeconds)} ms; ` +
        `load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
  } finally {
    await stats.end().catch(() => undefined);
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
}

/** The runner process: hello, the sessions, then on `go` the events and the other client. */
async function runAsRunner(server: string): Promise<void> {
  const base = `http://${server}`;
  const http = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };

  const runnerId = `runner_${randomBytes(16).toString('hex')}`;
  const ws = new WebSocket(`ws://${server}/v1/runners/${runnerId}/channel`, RUNNER_SUBPROTOCOL);
  const acked = new Map<string, number>();
  let wake: (() => void) | undefined;
  const peer = new JsonRpcPeer({
    send: (text) => ws.send(text),
    onRequest: (method) => (method === Methods.sessionInit ? { status: 'idle' } : {}),
    onNotification: (method, params) => {
      if (method === Methods.sessionAck) {
        const p = params as { session_id: string; seq: number };
        acked.set(p.session_id, Math.max(acked.get(p.session_id) ?? 0, p.seq));
        wake?.();
      }
    },
  });
  ws.on('message', (data) => peer.handleFrame(data.toString()));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  await peer.request<HelloResult>(
    Methods.hello,
    {
      protocol: RUNNER_PROTOCOL_VERSION,
      runner_version: 'bench',
      capabilities: { harnesses: ['echo'], tools: [] },
      sessions: [],
    },
    10_000,
  );
  const agents = (await http('GET', '/v1/agents?limit=100')).data as {
    id: string;
    name: string;
  }[];
  const echo = agents.find((a) => a.name === 'echo')?.id;
  const sessions: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    sessions.push((await http('POST', '/v1/sessions', { agent_id: echo })).id as string);
  }
  const probed = (await http('POST', '/v1/sessions', { agent_id: echo })).id as string;
  const go = new Promise((resolve) => process.once('message', resolve));
  process.send?.({ ready: true } satisfies FromRunner);
  await go;

  const cpuBefore = ownCpuSeconds();
  // Another client's requests while the runner sends (on a session of its own).
  const latencies: number[] = [];
  let sending = true;
  const prober = (async () => {
    while (sending) {
      const started = performance.now();
      await http('GET', `/v1/sessions/${probed}`);
      latencies.push(performance.now() - started);
    }
  })();
  const perSession = Math.ceil(EVENTS / SESSIONS);
  const sent = new Map(sessions.map((s) => [s, 0]));
  const unacked = () => sessions.reduce((n, s) => n + sent.get(s)! - (acked.get(s) ?? 0), 0);
  const started = performance.now();
  let total = 0;
  while (total < perSession * SESSIONS) {
    while (unacked() >= WINDOW) {
      await new Promise<void>((resolve) => (wake = resolve));
    }
    const session = sessions[total % SESSIONS];
    const seq = sent.get(session)! + 1;
    sent.set(session, seq);
    total++;
    peer.notify(Methods.sessionEvent, durableItemEvent(session, seq, `bench event ${seq}`));
    if (total % 500 === 0) {
      // Let the socket drain like a real runner between chunks of its outbox.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  while (unacked() > 0) {
    await new Promise<void>((resolve) => (wake = resolve));
  }
  const seconds = (performance.now() - started) / 1000;
  sending = false;
  await prober;
  const report: RunnerReport = {
    total,
    seconds,
    sessions,
    latencies,
    cpuSeconds: ownCpuSeconds() - cpuBefore,
  };
  process.send?.({ done: report } satisfies FromRunner, () => {
    ws.close();
    process.disconnect();
  });
}

(env.BENCH_INGEST_SERVER ? runAsRunner(env.BENCH_INGEST_SERVER) : serve()).catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
