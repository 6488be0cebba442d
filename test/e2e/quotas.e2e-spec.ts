import { randomBytes } from 'node:crypto';

import WebSocket from 'ws';

import { RUNNER_SUBPROTOCOL } from 'src/protocol/runner-protocol';
import { useTestApp } from 'test/e2e/create-app';
import {
  agentIdByName,
  clientFor,
  E2eClient,
  expectErrorBody,
  JWT_ENV,
  uniqueUser,
} from 'test/utils/e2e-client';
import { runnerChannelUrl, tryUpgrade } from 'test/utils/channel-upgrade';
import { connectFakeRunner, FakeRunner } from 'test/utils/fake-runner';
import { openSse, SseConnection } from 'test/utils/sse-client';

type Json = Record<string, unknown>;

const assistant = (text: string) => ({
  type: 'message',
  data: { role: 'assistant', content: [{ type: 'output_text', text }] },
});
const userMessage = (text: string) => ({
  type: 'message',
  data: { role: 'user', content: [{ type: 'input_text', text }] },
});

/**
 * Issue 16 finding 5: nothing limited what one user could create. Each quota below is set low
 * and then exceeded the way the red-team run did; the answer is 429 `quota_exceeded` with the
 * error body, and another user is not affected.
 */
describe('quotas (jwt mode)', () => {
  let echoId: string;
  const streams: SseConnection[] = [];
  const runners: FakeRunner[] = [];
  const sockets: WebSocket[] = [];

  const tokenOf = (client: E2eClient) => client.headers.Authorization.slice('Bearer '.length);
  const connect = async (client: E2eClient, runnerId?: string) => {
    const runner = await connectFakeRunner(t.url, { token: tokenOf(client), runnerId });
    runners.push(runner);
    return runner;
  };
  /** A raw channel upgrade without hello: the status the server answered, or 101 when open. */
  const upgrade = async (client: E2eClient, runnerId: string) => {
    const outcome = await tryUpgrade(
      runnerChannelUrl(t.url, runnerId),
      RUNNER_SUBPROTOCOL,
      client.headers,
    );
    sockets.push(outcome.ws);
    return outcome;
  };

  const createSession = (client: E2eClient, extra: Json = {}) =>
    client.post('/v1/sessions').send({ agent_id: echoId, ...extra });

  const t = useTestApp(
    'postgres',
    {
      ...JWT_ENV,
      OMNIGENT_QUOTA_SESSIONS_PER_USER: '3',
      OMNIGENT_QUOTA_ITEMS_PER_SESSION: '4',
      OMNIGENT_QUOTA_STREAMS_PER_USER: '2',
      OMNIGENT_QUOTA_RUNNERS_PER_USER: '2',
    },
    {
      listen: true,
      beforeClose: async () => {
        streams.forEach((s) => s.close());
        sockets.forEach((ws) => ws.terminate());
        await Promise.all(runners.map((r) => r.close()));
      },
    },
  );
  beforeAll(async () => {
    echoId = await agentIdByName(clientFor(t, uniqueUser()), 'echo');
  });

  it('should refuse a session past the per-user quota, by create or by fork, with 429', async () => {
    const alice = clientFor(t, uniqueUser('alice'));
    const first = (await createSession(alice).expect(201)).body as Json;
    await createSession(alice).expect(201);
    await alice
      .post(`/v1/sessions/${first.id as string}/fork`)
      .send({})
      .expect(201);

    expectErrorBody(await createSession(alice), 429, 'quota_exceeded', /at most 3 sessions/);
    expectErrorBody(
      await alice.post(`/v1/sessions/${first.id as string}/fork`).send({}),
      429,
      'quota_exceeded',
    );
    const list = await alice.get('/v1/sessions').expect(200);
    expect(list.body.data).toHaveLength(3);

    // Another user still has their whole quota; a deleted session frees a slot.
    await createSession(clientFor(t, uniqueUser('bob'))).expect(201);
    await alice.delete(`/v1/sessions/${first.id as string}`).expect(200);
    await createSession(alice).expect(201);
  });

  it('should refuse new messages in a session that holds its quota of items', async () => {
    const alice = clientFor(t, uniqueUser('alice'));
    const session = (
      await createSession(alice, {
        initial_items: [assistant('1'), assistant('2'), assistant('3'), assistant('4')],
      }).expect(201)
    ).body as Json;

    const res = await alice
      .post(`/v1/sessions/${session.id as string}/events`)
      .send(userMessage('5'));

    expectErrorBody(res, 429, 'quota_exceeded', /at most 4 items/);
    const items = await alice.get(`/v1/sessions/${session.id as string}/items`).expect(200);
    expect(items.body.data).toHaveLength(4);
  });

  it('should refuse a stream past the per-user quota until one is closed', async () => {
    const alice = clientFor(t, uniqueUser('alice'));
    const session = (await createSession(alice).expect(201)).body as Json;
    const path = `/v1/sessions/${session.id as string}/stream`;
    const open = async () => {
      const sse = await openSse(t.url, path, alice.headers);
      streams.push(sse);
      return sse;
    };
    const first = await open();
    const second = await open();
    expect([first.status, second.status]).toEqual([200, 200]);

    const third = await open();
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body())).toMatchObject({
      code: 'quota_exceeded',
      error: { code: 'quota_exceeded' },
    });
    // Another user's streams are counted apart.
    const bob = clientFor(t, uniqueUser('bob'));
    const bobSession = (await createSession(bob).expect(201)).body as Json;
    expect(
      (await openSse(t.url, `/v1/sessions/${bobSession.id as string}/stream`, bob.headers)).status,
    ).toBe(200);

    // The slot comes back once the server sees the client leave.
    first.close();
    const deadline = Date.now() + 5000;
    let again = await open();
    while (again.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      again = await open();
    }
    expect(again.status).toBe(200);
  });

  it('should refuse a runner past the per-user quota with 429, counting handshakes in flight', async () => {
    const alice = clientFor(t, uniqueUser('alice'));
    const first = await connect(alice);
    // Upgraded, no hello yet: it holds a slot all the same.
    const pending = await upgrade(alice, `runner_${randomBytes(16).toString('hex')}`);
    expect(pending.status).toBe(101);

    const refused = await upgrade(alice, `runner_${randomBytes(16).toString('hex')}`);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({
      code: 'quota_exceeded',
      error: { code: 'quota_exceeded' },
    });
    // The same runner reconnecting is not a new runner; another user has their own quota.
    await first.close();
    await connect(alice, first.runnerId);
    await connect(clientFor(t, uniqueUser('bob')));
    const list = await alice.get('/v1/runners').expect(200);
    expect(list.body.data).toHaveLength(1);
  });

  it("should bind a brand-new runner id to its first user before that runner's hello", async () => {
    const alice = clientFor(t, uniqueUser('alice'));
    const bob = clientFor(t, uniqueUser('bob'));
    const runnerId = `runner_${randomBytes(16).toString('hex')}`;
    const aliceSocket = await upgrade(alice, runnerId);
    expect(aliceSocket.status).toBe(101);

    // bob races for the same id while alice's runner has not said hello yet.
    const taken = await upgrade(bob, runnerId);
    expect(taken.status).toBe(409);
    expect(JSON.parse(taken.body)).toMatchObject({ code: 'conflict' });
    await expect(connect(bob, runnerId)).rejects.toThrow(/refused: 409/);

    // alice's runner (reconnecting, as after a crash before hello) gets the id, bob never does.
    aliceSocket.ws.terminate();
    const runner = await connect(alice, runnerId);
    expect(runner.hello).toBeDefined();
    expect((await alice.get(`/v1/runners/${runnerId}/status`).expect(200)).body).toMatchObject({
      online: true,
    });
    expect((await bob.get(`/v1/runners/${runnerId}/status`).expect(200)).body).toMatchObject({
      online: false,
    });
  });
});
