import { Methods } from 'src/protocol/runner-protocol';
import { createTestApp, TestApp } from 'test/e2e/create-app';
import { agentIdByName, clientFor, E2eClient, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { connectFakeRunner, FakeRunner } from 'test/utils/fake-runner';

/**
 * Issue 16 finding 7: one `session.event` with seq = 2^53 made the server drop every later event
 * of that session (each compared as a duplicate of it). Seqs are checked at the protocol
 * boundary (positive safe integers) and may not jump absurdly far; later honest events land.
 */
describe('runner event seqs', () => {
  let t: TestApp;
  let alice: E2eClient;
  let runner: FakeRunner;

  const item = (id: string, text: string) => ({
    type: 'response.output_item.done',
    item: { id, type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] },
  });
  const send = (sessionId: string, seq: number, id: string, text: string) =>
    runner.sendEvent(sessionId, seq, item(id, text));
  const acked = (sessionId: string, seq: number) =>
    runner.waitFor(
      (c) =>
        c.method === Methods.sessionAck &&
        c.params.session_id === sessionId &&
        (c.params.seq as number) >= seq,
    );

  beforeAll(async () => {
    t = await createTestApp('postgres', JWT_ENV);
    const url = await t.listen();
    alice = clientFor(t, uniqueUser('alice'));
    runner = await connectFakeRunner(url, {
      token: alice.headers.Authorization.slice('Bearer '.length),
    });
  });

  afterAll(async () => {
    await runner?.close();
    await t?.close();
  });

  it('should ignore a seq of 2^53 or a huge jump and keep ingesting the events after it', async () => {
    const echoId = await agentIdByName(alice, 'echo');
    const session = (await alice.post('/v1/sessions').send({ agent_id: echoId }).expect(201))
      .body as { id: string; runner_id: string };
    expect(session.runner_id).toBe(runner.runnerId);

    send(session.id, 2 ** 53, 'msg_00000000000000000000000000000b16', 'poison');
    send(session.id, 2 ** 53 - 1, 'msg_00000000000000000000000000000b17', 'jump');
    send(session.id, 1, 'msg_00000000000000000000000000000001', 'one');
    send(session.id, 2, 'msg_00000000000000000000000000000002', 'two');
    await acked(session.id, 2);

    const items = await alice.get(`/v1/sessions/${session.id}/items`).expect(200);
    expect(items.body.data.map((i: { id: string }) => i.id)).toEqual([
      'msg_00000000000000000000000000000001',
      'msg_00000000000000000000000000000002',
    ]);
    // A resend of an ingested seq is still a duplicate, and the next seq still lands.
    send(session.id, 2, 'msg_00000000000000000000000000000022', 'dup');
    send(session.id, 3, 'msg_00000000000000000000000000000003', 'three');
    await acked(session.id, 3);
    const after = await alice.get(`/v1/sessions/${session.id}/items`).expect(200);
    expect(after.body.data.map((i: { id: string }) => i.id)).toEqual([
      'msg_00000000000000000000000000000001',
      'msg_00000000000000000000000000000002',
      'msg_00000000000000000000000000000003',
    ]);
  });
});
