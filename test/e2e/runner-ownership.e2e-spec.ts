import { DataSource } from 'typeorm';

import { mintToken } from 'src/common/auth/token-signer';
import { Methods } from 'src/protocol/runner-protocol';
import { useTestApp } from 'test/e2e/create-app';
import {
  agentIdByName,
  clientFor,
  E2eClient,
  expectErrorBody,
  JWT_ENV,
  uniqueUser,
} from 'test/utils/e2e-client';
import { connectFakeRunner, FakeRunner } from 'test/utils/fake-runner';
import { sleep } from 'test/utils/http-api';

type Json = Record<string, unknown>;

const message = (text: string) => ({
  type: 'message',
  data: { role: 'user', content: [{ type: 'input_text', text }] },
});

/**
 * Issue 16 finding 2: an admin could bind another user's runner to a session of their own and
 * run `shell` on that user's machine. A runner serves only its owner's sessions, admins included:
 * every path that binds is refused, and the channel never carries another user's session.
 */
describe('runner ownership (jwt mode, admins included)', () => {
  let alice: E2eClient;
  let bob: E2eClient;
  let admin: E2eClient;
  let aliceToken: string;
  let echoId: string;
  const runners: FakeRunner[] = [];

  const aliceRunner = async () => {
    const runner = await connectFakeRunner(t.url, { token: aliceToken });
    runners.push(runner);
    return runner;
  };
  const createSession = async (client: E2eClient, extra: Json = {}): Promise<Json> =>
    (
      await client
        .post('/v1/sessions')
        .send({ agent_id: echoId, ...extra })
        .expect(201)
    ).body;

  const t = useTestApp('postgres', JWT_ENV, {
    listen: true,
    beforeClose: () => Promise.all(runners.map((r) => r.close())),
  });
  beforeAll(async () => {
    alice = clientFor(t, uniqueUser('alice'));
    bob = clientFor(t, uniqueUser('bob'));
    aliceToken = alice.headers.Authorization.slice('Bearer '.length);
    const adminId = uniqueUser('admin');
    const adminToken = mintToken(t.config.auth, { sub: adminId, admin: true, ttlSeconds: 3600 });
    const headers = { Authorization: `Bearer ${adminToken.token}` };
    admin = {
      userId: adminId,
      headers,
      get: (path) => t.http.get(path).set(headers),
      post: (path) => t.http.post(path).set(headers),
      patch: (path) => t.http.patch(path).set(headers),
      delete: (path) => t.http.delete(path).set(headers),
    };
    echoId = await agentIdByName(alice, 'echo');
  });

  it("should refuse an admin binding their own session to another user's runner", async () => {
    const runner = await aliceRunner();
    // alice has exactly one runner online: only her own new sessions are bound to it.
    const session = await createSession(admin);
    expect(session.runner_id).toBeNull();

    const bind = await admin
      .patch(`/v1/sessions/${session.id}`)
      .send({ runner_id: runner.runnerId });
    expectErrorBody(bind, 403, 'forbidden', /belongs to another user/);
    const shell = await admin
      .post(`/v1/sessions/${session.id}/events`)
      .send(message('/tool shell {"command":"cat ~/.ssh/id_ed25519"}'));
    expectErrorBody(shell, 503, 'runner_unavailable');

    const snapshot = await admin.get(`/v1/sessions/${session.id}`).expect(200);
    expect(snapshot.body).toMatchObject({ runner_id: null, runner_online: false });
    expect(runner.sessionIds()).not.toContain(session.id);
  });

  it("should refuse binding anyone else's session to alice's runner, and allow hers", async () => {
    const runner = await aliceRunner();
    const bobs = await createSession(bob);
    expectErrorBody(
      await admin.patch(`/v1/sessions/${bobs.id}`).send({ runner_id: runner.runnerId }),
      403,
      'forbidden',
    );
    expectErrorBody(
      await bob.patch(`/v1/sessions/${bobs.id}`).send({ runner_id: runner.runnerId }),
      403,
      'forbidden',
    );
    // An admin may manage alice's session on alice's runner: the runner serves its owner.
    const hers = await createSession(alice, { title: 'hers' });
    await alice.patch(`/v1/sessions/${hers.id}`).send({ runner_id: '' }).expect(200);
    const bound = await admin
      .patch(`/v1/sessions/${hers.id}`)
      .send({ runner_id: runner.runnerId })
      .expect(200);
    expect(bound.body).toMatchObject({ runner_id: runner.runnerId });
    await runner.waitFor(
      (c) => c.method === Methods.sessionInit && c.params.session_id === hers.id,
    );
    expect(runner.sessionIds()).not.toContain(bobs.id);
  });

  it("should not let an admin's sub-agent session inherit alice's runner", async () => {
    const runner = await aliceRunner();
    const parent = await createSession(alice);
    await alice.patch(`/v1/sessions/${parent.id}`).send({ runner_id: runner.runnerId }).expect(200);
    const child = await createSession(admin, { parent_session_id: parent.id });
    expect(child).toMatchObject({
      kind: 'sub_agent',
      parent_session_id: parent.id,
      runner_id: null,
    });
    expectErrorBody(
      await admin
        .post(`/v1/sessions/${child.id}/events`)
        .send(message('/tool shell {"command":"id"}')),
      503,
      'runner_unavailable',
    );
    // alice's own sub-agent sessions still inherit her runner.
    const own = await createSession(alice, { parent_session_id: parent.id });
    expect(own.runner_id).toBe(runner.runnerId);
    expect(runner.sessionIds()).not.toContain(child.id);
  });

  it('should keep a stored foreign binding off the channel: no init, no turn, no ingest', async () => {
    // A row bound before this rule existed (or written by hand): the channel refuses it anyway.
    const runner = await aliceRunner();
    const foreign = await createSession(admin);
    const hers = await createSession(alice);
    const db = t.app.get(DataSource);
    await db.query(
      `UPDATE sessions SET runner_id = $1, live_status = 'running' WHERE id = ANY($2)`,
      [runner.runnerId, [foreign.id, hers.id]],
    );
    expectErrorBody(
      await admin
        .post(`/v1/sessions/${foreign.id}/events`)
        .send(message('/tool shell {"command":"id"}')),
      503,
      'runner_unavailable',
    );

    // A reconnect that claims the foreign session: the server drops it, and fails her turn,
    // which the restarted runner does not hold (finding 4); the foreign one is never touched.
    const held = { next_seq: 1, parked_elicitations: [] };
    const again = await connectFakeRunner(t.url, {
      token: aliceToken,
      runnerId: runner.runnerId,
      sessions: [{ session_id: foreign.id as string, ...held }],
    });
    runners.push(again);
    expect(again.hello.sessions).toEqual([
      { session_id: foreign.id, last_acked_seq: 0, action: 'drop' },
    ]);
    for (
      let tries = 0;
      (await alice.get(`/v1/sessions/${hers.id}`)).body.status !== 'failed';
      tries++
    ) {
      expect(tries).toBeLessThan(100);
      await sleep(100);
    }

    // Events, tool checks and history reads for the foreign session are refused.
    const item = (id: string) => ({
      type: 'response.output_item.done',
      item: {
        id,
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'x' }],
      },
    });
    again.sendEvent(foreign.id as string, 1, item('msg_0000000000000000000000000000f0e1'));
    again.sendEvent(hers.id as string, 1, item('msg_0000000000000000000000000000a11c'));
    await again.waitFor((c) => c.method === Methods.sessionAck && c.params.session_id === hers.id);
    await expect(
      again.request(Methods.toolAuthorize, {
        session_id: foreign.id,
        turn_id: 'resp_x',
        call_id: 'call_x',
        name: 'shell',
        arguments: {},
      }),
    ).rejects.toMatchObject({ data: { code: 'session_unknown' } });
    await expect(
      again.request(Methods.sessionHistory, { session_id: foreign.id }),
    ).rejects.toMatchObject({ data: { code: 'session_unknown' } });
    // Both sessions' events were queued together; give the foreign one the same time to land.
    await sleep(200);
    const foreignItems = await admin.get(`/v1/sessions/${foreign.id}/items`).expect(200);
    expect(foreignItems.body.data).toEqual([]);
    const herItems = await alice.get(`/v1/sessions/${hers.id}/items`).expect(200);
    expect(herItems.body.data).toHaveLength(1);
    expect([...runner.sessionIds(), ...again.sessionIds()]).not.toContain(foreign.id);
  });
});
