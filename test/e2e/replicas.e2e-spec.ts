import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connectFakeRunner } from 'test/utils/fake-runner';
import { eventually, HttpApi, httpApi, sleep } from 'test/utils/http-api';
import {
  RunnerProcess,
  ServerProcess,
  spawnCli,
  startRunner,
  startServer,
} from 'test/utils/processes';
import { isAmbient, openSse, SseConnection, SseFrame } from 'test/utils/sse-client';

const ASK_ON_OS_TOOLS = 'omnigent.policies.builtins.safety.ask_on_os_tools';
const REDIS_URL = process.env.OMNIGENT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const count = (stream: SseConnection, event: string, status?: string) =>
  stream.frames.filter((f) => f.event === event && (!status || f.json?.status === status)).length;

const idleAfter = (stream: SseConnection, n = 1) =>
  stream.waitFor(() => count(stream, 'session.status', 'idle') >= n, 20_000, `${n} idle`);

/** Frames of durable events (those with a seq). */
const durable = (frames: SseFrame[]) =>
  frames.filter((f) => f.event && !f.event.includes('delta') && !isAmbient(f) && f.id !== '0');

/**
 * Three server processes on one PostgreSQL, as behind a load balancer without sticky sessions:
 * the runner is connected to A, clients read the stream on B and post to C.
 */
describe.each([
  ['PostgreSQL', {}],
  ['Redis', { REDIS_URL }],
] as const)('several replicas on the %s bus (real processes)', (_bus, busEnv) => {
  const servers: ServerProcess[] = [];
  let a: ServerProcess;
  let b: ServerProcess;
  let c: ServerProcess;
  let runner: RunnerProcess;
  let onB: HttpApi;
  let onC: HttpApi;

  beforeAll(async () => {
    const env = {
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
      OMNIGENT_RUNNER_HEARTBEAT_MS: '1000',
      OMNIGENT_RUNNER_LIVENESS_TTL_MS: '4000',
      OMNIGENT_RUNNER_GRACE_MS: '1500',
      OMNIGENT_SWEEPER_INTERVAL_MS: '250',
      OMNIGENT_DRAIN_MS: '1000',
      ...busEnv,
    };
    [a, b, c] = await Promise.all([startServer(env), startServer(env), startServer(env)]);
    servers.push(a, b, c);
    runner = await startRunner(a.url);
    onB = httpApi(b.url);
    onC = httpApi(c.url);
  }, 120_000);

  afterAll(async () => {
    await runner?.kill();
    await Promise.all(servers.map((s) => s.stop()));
  });

  /** A session created and bound through C, its stream open on B. */
  async function sessionAcross(): Promise<{ id: string; stream: SseConnection }> {
    const session = await onC.createSession('echo');
    await onC.bind(session.id, runner.runnerId);
    const stream = await openSse(b.url, `/v1/sessions/${session.id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    return { id: session.id, stream };
  }

  it('should run a full turn: runner on A, stream on B, message posted to C', async () => {
    const { id, stream } = await sessionAcross();
    expect((await onC.say(id, 'hello across replicas')).status).toBe(202);
    await idleAfter(stream);
    stream.close();
    const text = stream.frames
      .filter((f) => f.event === 'response.output_text.delta')
      .map((f) => f.json?.delta)
      .join('');
    expect(text).toContain('hello across replicas');
    expect(count(stream, 'response.completed')).toBe(1);
    const items = await onB.ok<{ data: { role?: string }[] }>('GET', `/v1/sessions/${id}/items`);
    expect(items.data.map((i) => i.role)).toEqual(['user', 'assistant']);
  });

  it('should interrupt a turn from C while the runner is on A', async () => {
    const { id, stream } = await sessionAcross();
    await onC.say(id, '/sleep 20000');
    await stream.waitFor((f) => f.event === 'response.output_text.delta');
    const res = await onC.request('POST', `/v1/sessions/${id}/events`, {
      type: 'interrupt',
      data: {},
    });
    expect(res).toEqual({ status: 202, body: { queued: false } });
    await idleAfter(stream);
    stream.close();
    expect(count(stream, 'session.interrupted')).toBe(1);
    expect(stream.frames.find((f) => f.event === 'response.incomplete')?.json).toMatchObject({
      response: { incomplete_details: { reason: 'user_interrupt' } },
    });
  });

  it('should deliver an approval given on C to the runner waiting on A', async () => {
    const { id, stream } = await sessionAcross();
    await onC.ok('POST', `/v1/sessions/${id}/policies`, {
      name: 'ask',
      type: 'python',
      handler: ASK_ON_OS_TOOLS,
    });
    await onC.say(id, '/tool list_dir {"path":"."}');
    const ask = await stream.waitFor((f) => f.event === 'response.elicitation_request');
    const eid = String(ask.json?.elicitation_id);
    await onC.ok('POST', `/v1/sessions/${id}/elicitations/${eid}/resolve`, { action: 'accept' });
    await idleAfter(stream);
    stream.close();
    expect(count(stream, 'response.elicitation_resolved')).toBe(1);
    const output = stream.frames
      .map((f) => f.json?.item as { type?: string; output?: string } | undefined)
      .find((item) => item?.type === 'function_call_output');
    expect(output?.output).not.toMatch(/Denied/);
  });

  it('should resume a stream moved from B to C with Last-Event-ID, missing nothing', async () => {
    const { id, stream } = await sessionAcross();
    await onC.say(id, 'first');
    await idleAfter(stream);
    await onC.say(id, 'second');
    await idleAfter(stream, 2);
    stream.close();
    const seen = durable(stream.frames);
    const cut = seen[Math.floor(seen.length / 2)];
    const moved = await openSse(c.url, `/v1/sessions/${id}/stream`, {
      'Last-Event-ID': String(cut.id),
    });
    const last = seen[seen.length - 1];
    await moved.waitFor((f) => f.id === last.id && f.event === last.event);
    moved.close();
    const after = seen.slice(seen.indexOf(cut) + 1);
    expect(durable(moved.frames).map((f) => [f.id, f.event])).toEqual(
      after.map((f) => [f.id, f.event]),
    );
  });

  it('should let the newest connection win across replicas and route to it', async () => {
    const first = await connectFakeRunner(b.url);
    const second = await connectFakeRunner(c.url, { runnerId: first.runnerId });
    expect(await first.closeCode).toBe(4000);
    expect(second.hello.epoch).toBeGreaterThan(first.hello.epoch);
    const onA = httpApi(a.url);
    const session = await onA.createSession('echo');
    await onA.bind(session.id, second.runnerId);
    expect((await onA.say(session.id, 'to the newest')).status).toBe(202);
    const start = await second.waitFor((call) => call.method === 'turn.start');
    expect(start.params).toMatchObject({ session_id: session.id });
    expect(first.received.some((call) => call.method === 'turn.start')).toBe(false);
    await second.close();
  });

  it('should answer 503 on another replica once the runner is gone', async () => {
    const fake = await connectFakeRunner(b.url);
    const session = await onC.createSession('echo');
    await onC.bind(session.id, fake.runnerId);
    await fake.close();
    await eventually(async () => {
      const res = await onC.say(session.id, 'anyone there?');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'runner_unavailable' });
    });
  });

  it('should reach a host held by A from C, and answer 409 once it is gone', async () => {
    const root = mkdtempSync(join(tmpdir(), 'omnigent-replica-host-'));
    writeFileSync(join(root, 'hello.txt'), 'hi');
    const host = spawnCli(['host', '--server', a.url, '--name', 'replica-box'], {
      OMNIGENT_HOST_STATE_DIR: mkdtempSync(join(tmpdir(), 'omnigent-host-')),
      OPENAI_API_KEY: '',
      HOME: root,
    });
    try {
      const [, hostId] = await host.waitForOutput(
        /Host (host_[0-9a-f]{32}) \(replica-box\) registered/,
        60_000,
      );
      const listing = await onC.ok('GET', `/v1/hosts/${hostId}/filesystem${root}`);
      expect(JSON.stringify(listing)).toContain('hello.txt');
      await host.stop();
      await eventually(async () => {
        const res = await onC.request('GET', `/v1/hosts/${hostId}/filesystem${root}`);
        expect(res.status).toBe(409);
      });
    } finally {
      await host.kill();
    }
  });

  it('should fail the turn of a runner whose replica died, exactly once (sweeper)', async () => {
    const { id, stream } = await sessionAcross();
    await onC.say(id, '/sleep 60000');
    await stream.waitFor((f) => f.event === 'response.output_text.delta');
    await a.kill();
    await stream.waitFor(
      (f) => f.event === 'session.status' && f.json?.status === 'failed',
      30_000,
    );
    // Several sweeps later (250 ms apart, on B and C) it is still failed once.
    await sleep(2000);
    stream.close();
    expect(count(stream, 'response.failed')).toBe(1);
    expect(count(stream, 'session.status', 'failed')).toBe(1);
    const snapshot = await onC.ok<{ status: string; last_task_error: { code: string } }>(
      'GET',
      `/v1/sessions/${id}`,
    );
    expect(snapshot).toMatchObject({
      status: 'failed',
      last_task_error: { code: 'runner_disconnected' },
    });
  });

  it('should stop a replica gracefully: not ready first, then streams end and runners are told to reconnect', async () => {
    const fake = await connectFakeRunner(c.url);
    const session = await onB.createSession('echo');
    const stream = await openSse(c.url, `/v1/sessions/${session.id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    const stopped = c.stop();
    await eventually(async () => {
      const res = await fetch(`${c.url}/ready`);
      expect(res.status).toBe(503);
    });
    await stream.waitFor((f) => f.data === '[DONE]', 15_000);
    expect(await fake.closeCode).toBe(4005);
    expect(await stopped).toBe(0);
    // The session lives on: another replica serves it.
    expect(await onB.ok('GET', `/v1/sessions/${session.id}`)).toMatchObject({ id: session.id });
  });
});
