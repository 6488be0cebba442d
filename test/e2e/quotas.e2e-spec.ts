import { createTestApp, TestApp } from 'test/e2e/create-app';
import {
  agentIdByName,
  clientFor,
  E2eClient,
  expectErrorBody,
  JWT_ENV,
  uniqueUser,
} from 'test/utils/e2e-client';
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
  let t: TestApp;
  let url: string;
  let echoId: string;
  const streams: SseConnection[] = [];

  const createSession = (client: E2eClient, extra: Json = {}) =>
    client.post('/v1/sessions').send({ agent_id: echoId, ...extra });

  beforeAll(async () => {
    t = await createTestApp('postgres', {
      ...JWT_ENV,
      OMNIGENT_QUOTA_SESSIONS_PER_USER: '3',
      OMNIGENT_QUOTA_ITEMS_PER_SESSION: '4',
      OMNIGENT_QUOTA_STREAMS_PER_USER: '2',
    });
    url = await t.listen();
    echoId = await agentIdByName(clientFor(t, uniqueUser()), 'echo');
  });

  afterAll(async () => {
    streams.forEach((s) => s.close());
    await t?.close();
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
      const sse = await openSse(url, path, alice.headers);
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
      (await openSse(url, `/v1/sessions/${bobSession.id as string}/stream`, bob.headers)).status,
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
});
