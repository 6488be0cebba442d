import { randomBytes, randomInt } from 'node:crypto';

import { Client } from 'pg';

import { isTransientEvent } from 'src/protocol/stream-events';
import { eventually, HttpApi, httpApi, sleep } from 'test/utils/http-api';
import {
  freePort,
  RunnerProcess,
  ServerProcess,
  startRunner,
  startServer,
} from 'test/utils/processes';
import { isAmbient, openSse, SseConnection, SseFrame } from 'test/utils/sse-client';
import { createTestDatabase, databaseUrl, dropTestDatabase } from 'test/utils/test-database';

/**
 * The fault suite (issue 16): real server and runner processes on the machine's PostgreSQL; a
 * seeded generator picks a point of a turn and a fault (kill -9 of the runner, kill -9 of the
 * server then a restart on the same database, or pg_terminate_backend on every connection of
 * the server), and after recovery the invariants of docs/SECURITY.md must hold. The seed is
 * printed; `OMNIGENT_FAULT_SEED=<seed>` replays a run, `OMNIGENT_FAULT_ROUNDS=<n>` runs longer.
 */

const SEED = Number(process.env.OMNIGENT_FAULT_SEED ?? randomInt(2 ** 31));
const ROUNDS = Number(process.env.OMNIGENT_FAULT_ROUNDS ?? 12);
// Longer than a runner takes to restart, so a restart can land within the grace (the hello
// fails the lost turn) or after it (the sweeper does), as the seed picks.
const GRACE_MS = 3_000;
const TERMINALS = new Set([
  'response.completed',
  'response.failed',
  'response.incomplete',
  'response.cancelled',
]);

type Fault = 'runner-kill' | 'server-kill' | 'db-terminate';
type Point = 'before-first-delta' | 'mid-stream' | 'tool-call' | 'after-completed';
const FAULTS: Fault[] = ['runner-kill', 'server-kill', 'db-terminate'];
const POINTS: Point[] = ['before-first-delta', 'mid-stream', 'tool-call', 'after-completed'];

/** mulberry32: small, seedable, good enough to pick faults. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every fault at every point once (in a seeded order), then seeded picks. */
function plan(rounds: number, random: () => number) {
  const all = FAULTS.flatMap((fault) => POINTS.map((point) => ({ fault, point })));
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return Array.from({ length: rounds }, (_, i) => ({
    ...(all[i] ?? all[Math.floor(random() * all.length)]),
    jitterMs: Math.floor(random() * 40),
    restartLate: random() < 0.5,
    // A session the runner already holds (a turn ran before), or a fresh one it is handed now.
    warm: random() < 0.5,
  }));
}

const PROMPTS: Record<Point, string> = {
  'before-first-delta': '/sleep 800',
  'mid-stream': '/sleep 800',
  'tool-call': '/tool shell {"command":"sleep 0.5; echo tool-done"}',
  'after-completed': 'hello faults',
};

const TRIGGERS: Record<Point, (f: SseFrame) => boolean> = {
  'before-first-delta': (f) => f.event === 'session.status' && f.json?.status === 'running',
  'mid-stream': (f) => f.event === 'response.output_text.delta',
  'tool-call': (f) =>
    f.event === 'response.output_item.done' &&
    (f.json?.item as { type?: string } | undefined)?.type === 'function_call',
  'after-completed': (f) => f.event === 'response.completed',
};

interface Item {
  id: string;
  type: string;
  response_id?: string;
  role?: string;
  code?: string;
}

interface Logged {
  seq: number;
  type: string;
  payload: Record<string, unknown>;
}

describe('fault suite (kill -9 of runner and server, dropped database connections)', () => {
  const random = prng(SEED);
  const rounds = plan(ROUNDS, random);
  let dbName: string;
  let dbUrl: string;
  let port: number;
  let dataDir: string | undefined;
  let server: ServerProcess | undefined;
  let runner: RunnerProcess | undefined;
  let api: HttpApi;
  const runnerId = `runner_${randomBytes(16).toString('hex')}`;
  const streams: SseConnection[] = [];

  const serverEnv = () => ({
    DATABASE_URL: dbUrl,
    OMNIGENT_PORT: String(port),
    OMNIGENT_RUNNER_GRACE_MS: String(GRACE_MS),
    OMNIGENT_SWEEPER_INTERVAL_MS: '200',
    OMNIGENT_RUNNER_HEARTBEAT_MS: '1000',
    ...(dataDir ? { OMNIGENT_DATA_DIR: dataDir } : {}),
  });
  const bootServer = async () => {
    server = await startServer(serverEnv());
    dataDir = server.dataDir;
    api = httpApi(server.url);
  };
  const bootRunner = async () => {
    runner = await startRunner(`http://127.0.0.1:${port}`, ['--runner-id', runnerId]);
  };
  const runnerOnline = async (sessionId: string) => {
    const health = await api.ok<{ session: { runner_online: boolean } }>(
      'GET',
      `/health?session_id=${sessionId}`,
    );
    if (!health.session.runner_online) {
      throw new Error(`runner ${runnerId} is not online for ${sessionId}`);
    }
  };
  const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const client = new Client({ connectionString: dbUrl });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    console.log(`fault suite: seed ${SEED} (replay with OMNIGENT_FAULT_SEED=${SEED})`);
    dbName = await createTestDatabase();
    dbUrl = databaseUrl(dbName);
    port = await freePort();
    await bootServer();
    await bootRunner();
  }, 90_000);

  afterAll(async () => {
    streams.forEach((s) => s.close());
    await runner?.stop();
    await server?.stop();
    if (dbName) {
      await dropTestDatabase(dbName);
    }
  });

  async function inject(fault: Fault, restartLate: boolean): Promise<void> {
    switch (fault) {
      case 'runner-kill':
        await runner?.kill();
        if (restartLate) {
          // Past the grace: the sweeper, not the reconnect, has to end the turn.
          await sleep(GRACE_MS + 1_000);
        }
        await bootRunner();
        return;
      case 'server-kill': {
        const mark = runner?.output().length ?? 0;
        await server?.kill();
        await bootServer();
        // The runner's row still reads online (its TTL has not passed): wait for the runner
        // itself to be back on the new process.
        await eventually(async () => {
          if (!runner?.output().slice(mark).includes('reconnected')) {
            throw new Error('the runner has not reconnected yet');
          }
        }, 30_000);
        return;
      }
      case 'db-terminate': {
        // Two statements: within one, the planner may terminate this connection too.
        const pids = await query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [dbName],
        );
        const killed = await query<{ ok: boolean }>(
          'SELECT pg_terminate_backend(pid) AS ok FROM unnest($1::int[]) AS pid',
          [pids.map((p) => p.pid)],
        );
        expect(killed.filter((k) => k.ok).length).toBeGreaterThan(0);
        return;
      }
    }
  }

  /** The invariants of docs/SECURITY.md ("Faults"), for one session after recovery. */
  async function checkInvariants(
    sessionId: string,
    live: SseFrame[],
    label: string,
  ): Promise<string> {
    const items = (
      await api.ok<{ data: Item[] }>('GET', `/v1/sessions/${sessionId}/items?limit=1000`)
    ).data;
    const log = await query<Logged>(
      `SELECT seq::int AS seq, type, payload FROM session_event_log
       WHERE session_id = $1 ORDER BY seq`,
      [sessionId],
    );
    const bySeq = new Map(log.map((e) => [e.seq, e]));

    // No persisted item duplicated; every item announced once in the log, and nothing announced
    // that was not persisted.
    const itemIds = items.map((i) => i.id);
    expect({ label, duplicates: itemIds.filter((id, i) => itemIds.indexOf(id) !== i) }).toEqual({
      label,
      duplicates: [],
    });
    const announced = log.flatMap((e) => {
      if (e.type === 'response.output_item.done') {
        return [(e.payload.item as { id: string }).id];
      }
      if (e.type === 'session.input.consumed') {
        return [(e.payload.data as { item_id: string }).item_id];
      }
      return [];
    });
    expect({ label, announced: [...announced].sort() }).toEqual({
      label,
      announced: [...itemIds].sort(),
    });

    // Nothing the stream delivered live is lost or different in the log.
    for (const frame of live) {
      if (
        !frame.event ||
        isTransientEvent(frame.event) ||
        isAmbient(frame) ||
        frame.event === 'stream.reset'
      ) {
        continue;
      }
      const logged = bySeq.get(Number(frame.id));
      expect({ label, seq: frame.id, type: logged?.type }).toEqual({
        label,
        seq: frame.id,
        type: frame.event,
      });
    }

    // Exactly one terminal event per response, and a failed one leaves an error item.
    const turns = new Set(
      items.filter((i) => i.type === 'message' && i.role === 'user').map((i) => i.response_id),
    );
    const outcomes: string[] = [];
    for (const turnId of turns) {
      const terminals = log.filter(
        (e) =>
          TERMINALS.has(e.type) &&
          (e.payload.response as { id?: string } | undefined)?.id === turnId,
      );
      expect({ label, turnId, terminals: terminals.length }).toEqual({
        label,
        turnId,
        terminals: 1,
      });
      const code = items.find((i) => i.type === 'error' && i.response_id === turnId)?.code;
      outcomes.push(code ? `${terminals[0].type} (${code})` : terminals[0].type);
      if (terminals[0].type === 'response.failed') {
        expect({
          label,
          turnId,
          error: items.some((i) => i.type === 'error' && i.response_id === turnId),
        }).toEqual({
          label,
          turnId,
          error: true,
        });
      }
    }
    return outcomes.at(-1) ?? 'no turn';
  }

  it(`should keep the turn invariants across ${ROUNDS} seeded faults`, async () => {
    const outcomes: string[] = [];
    for (const [index, round] of rounds.entries()) {
      const label = `round ${index} (seed ${SEED}): ${round.fault} at ${round.point}`;
      const session = await api.createSession('echo');
      await api.bind(session.id, runnerId);
      await eventually(() => runnerOnline(session.id), 30_000);
      const stream = await openSse(api.url, `/v1/sessions/${session.id}/stream`);
      streams.push(stream);
      await stream.waitFor((f) => f.event === 'session.heartbeat');
      if (round.warm) {
        expect({ label, status: (await api.say(session.id, 'warm up')).status }).toEqual({
          label,
          status: 202,
        });
        await stream.waitFor(
          (f) => f.event === 'session.status' && f.json?.status === 'idle',
          30_000,
          `${label}: warm-up turn`,
        );
        stream.frames.splice(0);
      }

      // The post may fail (the fault hit before it was answered): the turn must still end.
      const posted = api.say(session.id, PROMPTS[round.point]).catch((error: Error) => error);
      await stream.waitFor(TRIGGERS[round.point], 30_000, `${label}: trigger`);
      await sleep(round.jitterMs);
      await inject(round.fault, round.restartLate);
      await posted;

      // Recovery: the session is not left running, within the grace and a few sweeps.
      await eventually(
        async () => {
          const current = await api.ok<{ status: string }>('GET', `/v1/sessions/${session.id}`);
          if (current.status === 'running' || current.status === 'waiting') {
            throw new Error(`${label}: session still ${current.status}`);
          }
        },
        30_000,
        200,
      );
      stream.close();
      const outcome = await checkInvariants(session.id, stream.frames, label);
      outcomes.push(`${label}${round.warm ? ' (warm)' : ''}: ${outcome}`);

      // And the session takes the next turn.
      await eventually(() => runnerOnline(session.id), 30_000);
      const next = await openSse(api.url, `/v1/sessions/${session.id}/stream`);
      streams.push(next);
      await next.waitFor((f) => f.event === 'session.heartbeat');
      const answer = await api.say(session.id, 'after the fault');
      expect({ label, status: answer.status }).toEqual({ label, status: 202 });
      await next.waitFor((f) => f.event === 'response.completed', 30_000, `${label}: next turn`);
      await next.waitFor(
        (f) => f.event === 'session.status' && f.json?.status === 'idle',
        30_000,
        `${label}: idle after the next turn`,
      );
      next.close();
      await checkInvariants(session.id, [...stream.frames, ...next.frames], `${label}, next turn`);
    }
    console.log(`fault suite (seed ${SEED}):\n${outcomes.join('\n')}`);
  }, 240_000);
});
