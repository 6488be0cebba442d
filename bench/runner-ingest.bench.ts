/**
 * Durable events per second an honest runner gets through one channel (issue 16, finding 3:
 * target ≥ 5,000/s on PostgreSQL), and how another client's requests fare meanwhile.
 *
 * The real app in this process on a fresh PostgreSQL database; one runner connection sends
 * BENCH_EVENTS `response.output_item.done` events (each one stored item + one logged event, the
 * heaviest durable event) for BENCH_SESSIONS sessions, keeping at most BENCH_WINDOW unacknowledged
 * like the reference runner's outbox, and the rate is taken from the first send to the last ack.
 * A second client polls `GET /v1/sessions/{id}` back to back meanwhile; its p50/p99/max are shown.
 *
 *   npx tsc -p tsconfig.bench.json && node bench/run.js runner-ingest
 *   BENCH_DATABASE_URL=… BENCH_EVENTS=100000 BENCH_SESSIONS=4 node bench/run.js runner-ingest
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

import { Client } from 'pg';
import WebSocket from 'ws';

import { createApplication } from 'src/app.factory';
import { getConfig } from 'src/config/app-config';
import { IdPrefix, newId } from 'src/common/ids/ids';
import { JsonRpcPeer } from 'src/protocol/json-rpc';
import {
  HelloResult,
  Methods,
  RUNNER_PROTOCOL_VERSION,
  RUNNER_SUBPROTOCOL,
} from 'src/protocol/runner-protocol';

const env = process.env;
const ADMIN_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const EVENTS = Number(env.BENCH_EVENTS ?? 50_000);
const SESSIONS = Number(env.BENCH_SESSIONS ?? 1);
const WINDOW = Number(env.BENCH_WINDOW ?? 5_000);

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const dbName = `omnigent_bench_${randomBytes(6).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  await admin(`CREATE DATABASE ${dbName}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'omnigent-bench-'));
  const app = await createApplication(
    getConfig({
      DATABASE_URL: url.toString(),
      OMNIGENT_DATA_DIR: dataDir,
      OMNIGENT_LOCAL_RUNNER: '0',
      OMNIGENT_LOG_LEVEL: 'error',
    }),
  );
  try {
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    const base = `http://127.0.0.1:${port}`;
    const http = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await res.json()) as Record<string, unknown>;
    };

    const runnerId = `runner_${randomBytes(16).toString('hex')}`;
    const ws = new WebSocket(
      `ws://127.0.0.1:${port}/v1/runners/${runnerId}/channel`,
      RUNNER_SUBPROTOCOL,
    );
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

    // Another client's requests while the runner sends (on a session of its own).
    const probed = (await http('POST', '/v1/sessions', { agent_id: echo })).id as string;
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
      peer.notify(Methods.sessionEvent, {
        session_id: session,
        seq,
        durable: true,
        event: {
          type: 'response.output_item.done',
          item: {
            id: newId(IdPrefix.Message),
            type: 'message',
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_text', text: `bench event ${seq}` }],
          },
        },
      });
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
    const stored = new Client({ connectionString: url.toString() });
    await stored.connect();
    const { rows } = await stored.query<{ n: string }>(
      `SELECT count(*) AS n FROM items WHERE session_id = ANY($1)`,
      [sessions],
    );
    await stored.end();
    latencies.sort((a, b) => a - b);
    console.log(
      `${total} durable events over ${SESSIONS} session(s), window ${WINDOW}: ${seconds.toFixed(2)} s, ` +
        `${Math.round(total / seconds)} events/s; ${rows[0].n} items stored`,
    );
    console.log(
      `another client's GET /v1/sessions/{id} meanwhile: ${latencies.length} calls, ` +
        `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
        `max ${latencies.at(-1)?.toFixed(1)} ms`,
    );
    ws.close();
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
