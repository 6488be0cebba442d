import { durableItemEvent } from 'bench/fixtures';
import { Methods } from 'src/protocol/runner-protocol';
import { useTestApp } from 'test/e2e/create-app';
import { agentIdByName, clientFor, E2eClient, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { connectFakeRunner, FakeRunner } from 'test/utils/fake-runner';
import { sleep } from 'test/utils/http-api';

type Json = Record<string, unknown>;

/** The functional bound: another user's request answers within this while one runner floods. */
const BOUND_MS = 1_000;

/** A durable event carrying one assistant message, as one JSON-RPC frame. */
function itemEvent(sessionId: string, seq: number): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    method: Methods.sessionEvent,
    params: durableItemEvent(sessionId, seq, `flood ${seq}`),
  });
}

/**
 * Issue 16 finding 3: one runner connection stalled the server for everyone (20,000 small
 * `session.event` frames: 8.6 s for other users' requests; one frame of 5,000 `session.history`
 * requests: 20.9 s and a 500). Another user's REST calls must stay under 1 s while a runner
 * floods, and the flooder gets a clear JSON-RPC error or close code.
 */
describe('runner channel flood (finding 3)', () => {
  const runners: FakeRunner[] = [];

  /** A fake runner of the client's and a new session of theirs on it (their only runner). */
  const runnerWithSession = async (url: string, client: E2eClient, agentId: string) => {
    const token = client.headers.Authorization.slice('Bearer '.length);
    const runner = await connectFakeRunner(url, { token });
    runners.push(runner);
    const session = (await client.post('/v1/sessions').send({ agent_id: agentId }).expect(201))
      .body as Json;
    return { runner, session };
  };

  afterAll(() => Promise.all(runners.map((r) => r.close())));

  const bobsCalls = (bob: E2eClient, echoId: string) => [
    () => bob.get('/v1/sessions?limit=5').expect(200),
    () => bob.post('/v1/sessions').send({ agent_id: echoId }).expect(201),
  ];

  /**
   * Bob's calls once, before the flood: what is measured is the flood's effect, not the first
   * call of a route (its code compiled and cached on first use: seconds under load).
   */
  async function warmUp(bob: E2eClient, echoId: string) {
    for (const call of bobsCalls(bob, echoId)) {
      await call();
    }
  }

  /** Runs bob's REST calls back to back until `done` settles; returns each call's latency. */
  async function probeWhile(bob: E2eClient, echoId: string, done: Promise<unknown>) {
    const latencies: number[] = [];
    let finished = false;
    void done.finally(() => (finished = true));
    while (!finished) {
      for (const call of bobsCalls(bob, echoId)) {
        const started = Date.now();
        await call();
        latencies.push(Date.now() - started);
      }
    }
    return latencies;
  }

  describe('with the default limits', () => {
    let alice: E2eClient;
    let bob: E2eClient;
    let echoId: string;

    const t = useTestApp('postgres', JWT_ENV, { listen: true });
    beforeAll(async () => {
      alice = clientFor(t, uniqueUser('alice'));
      bob = clientFor(t, uniqueUser('bob'));
      echoId = await agentIdByName(alice, 'echo');
    });

    it("should answer another user's requests within 1 s while 20,000 events are ingested", async () => {
      const { runner, session } = await runnerWithSession(t.url, alice, echoId);
      expect(session.runner_id).toBe(runner.runnerId);
      const id = session.id as string;
      const total = 20_000;
      await warmUp(bob, echoId);
      const started = Date.now();
      for (let seq = 1; seq <= total; seq++) {
        runner.sendRaw(itemEvent(id, seq));
      }
      const ingested = runner.waitFor(
        (c) => c.method === Methods.sessionAck && c.params.seq === total,
        120_000,
      );
      const latencies = await probeWhile(bob, echoId, ingested);
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `20,000 durable events in ${seconds.toFixed(1)} s; ${latencies.length} REST calls of another user, ` +
          `max ${Math.max(...latencies)} ms`,
      );
      expect(latencies.length).toBeGreaterThan(0);
      expect(Math.max(...latencies)).toBeLessThan(BOUND_MS);
      // Every event was stored once, in order.
      const items = await alice.get(`/v1/sessions/${id}/items?limit=1000&order=desc`).expect(200);
      expect((items.body as { data: Json[] }).data[0].content).toEqual([
        expect.objectContaining({ text: `flood ${total}` }),
      ]);
      await runner.close();
    }, 180_000);

    it('should refuse a frame of 5,000 session.history requests with one JSON-RPC error', async () => {
      const { runner, session } = await runnerWithSession(t.url, alice, echoId);
      const batch = Array.from({ length: 5_000 }, (_, i) => ({
        jsonrpc: '2.0',
        id: i + 1,
        method: Methods.sessionHistory,
        params: { session_id: session.id, limit: 1000 },
      }));
      await warmUp(bob, echoId);
      runner.sendRaw(JSON.stringify(batch));
      const latencies = await probeWhile(bob, echoId, sleep(1_500));
      expect(Math.max(...latencies)).toBeLessThan(BOUND_MS);
      expect(runner.frameErrors).toEqual([
        expect.objectContaining({
          code: -32600,
          message: expect.stringMatching(/5000 messages exceeds the limit of 100/),
          data: { code: 'batch_too_large', limit: 100 },
        }),
      ]);
      // The connection stays usable for honest requests.
      await expect(
        runner.request(Methods.sessionHistory, { session_id: session.id }),
      ).resolves.toEqual({ items: [], has_more: false });
    }, 60_000);
  });

  describe('with tight limits', () => {
    let alice: E2eClient;
    let bob: E2eClient;
    let echoId: string;

    const t = useTestApp(
      'postgres',
      {
        ...JWT_ENV,
        OMNIGENT_RUNNER_MAX_MESSAGES_PER_SECOND: '1000',
        OMNIGENT_RUNNER_MAX_PENDING_REQUESTS: '8',
      },
      { listen: true },
    );
    beforeAll(async () => {
      alice = clientFor(t, uniqueUser('alice'));
      bob = clientFor(t, uniqueUser('bob'));
      echoId = await agentIdByName(alice, 'echo');
    });

    it('should answer requests past the pending limit with an overloaded error, not run them', async () => {
      const { runner, session } = await runnerWithSession(t.url, alice, echoId);
      const answers = await Promise.allSettled(
        Array.from({ length: 50 }, () =>
          runner.request(Methods.sessionHistory, { session_id: session.id }),
        ),
      );
      const refused = answers.filter((a) => a.status === 'rejected');
      expect(answers.length - refused.length).toBeGreaterThanOrEqual(8);
      expect(refused.length).toBeGreaterThan(0);
      for (const answer of refused) {
        expect((answer as PromiseRejectedResult).reason).toMatchObject({
          code: -32002,
          data: { code: 'overloaded', limit: 8 },
        });
      }
    });

    it('should close a connection that floods past its rate with 4006', async () => {
      const { runner, session } = await runnerWithSession(t.url, alice, echoId);
      await warmUp(bob, echoId);
      for (let seq = 1; seq <= 20_000; seq++) {
        runner.sendRaw(itemEvent(session.id as string, seq));
      }
      const latencies = await probeWhile(bob, echoId, runner.closeCode);
      await expect(runner.closeCode).resolves.toBe(4006);
      expect(Math.max(...latencies)).toBeLessThan(BOUND_MS);
      // The server is fine: a new connection of the same runner is accepted.
      const token = alice.headers.Authorization.slice('Bearer '.length);
      const again = await connectFakeRunner(t.url, { token, runnerId: runner.runnerId });
      runners.push(again);
      expect(again.hello.runner_id).toBe(runner.runnerId);
    }, 60_000);
  });
});
