import { Methods } from 'src/protocol/runner-protocol';
import { useTestApp } from 'test/e2e/create-app';
import { agentIdByName, clientFor, E2eClient, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { connectFakeRunner, FakeRunner } from 'test/utils/fake-runner';
import { openSse } from 'test/utils/sse-client';

/**
 * Issue 16 finding 7: one `session.event` with seq = 2^53 made the server drop every later event
 * of that session (each compared as a duplicate of it). Seqs are checked at the protocol
 * boundary (positive safe integers) and may not jump absurdly far; later honest events land.
 * Issue 12: the same with ingest units committed asynchronously (acks wait for the WAL flush).
 */
describe.each([
  ['synchronous', {}],
  ['asynchronous', { OMNIGENT_INGEST_ASYNC_COMMIT: 'true' }],
])('runner event seqs (%s ingest commits)', (_mode, env: Record<string, string>) => {
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

  const t = useTestApp(
    'postgres',
    { ...JWT_ENV, ...env },
    {
      listen: true,
      beforeClose: () => runner?.close(),
    },
  );
  beforeAll(async () => {
    alice = clientFor(t, uniqueUser('alice'));
    runner = await connectFakeRunner(t.url, {
      token: alice.headers.Authorization.slice('Bearer '.length),
    });
  });

  const newSession = async () => {
    const echoId = await agentIdByName(alice, 'echo');
    const session = (await alice.post('/v1/sessions').send({ agent_id: echoId }).expect(201))
      .body as { id: string; runner_id: string };
    expect(session.runner_id).toBe(runner.runnerId);
    return session;
  };
  const msg = (tag: string) => `msg_${tag.padStart(32, '0')}`;
  const itemIds = async (sessionId: string) =>
    (await alice.get(`/v1/sessions/${sessionId}/items`).expect(200)).body.data.map(
      (i: { id: string }) => i.id,
    );

  it('should ignore a seq of 2^53 or a huge jump and keep ingesting the events after it', async () => {
    const session = await newSession();

    send(session.id, 2 ** 53, 'msg_00000000000000000000000000000b16', 'poison');
    send(session.id, 2 ** 53 - 1, 'msg_00000000000000000000000000000b17', 'jump');
    send(session.id, 1, 'msg_00000000000000000000000000000001', 'one');
    send(session.id, 2, 'msg_00000000000000000000000000000002', 'two');
    await acked(session.id, 2);

    expect(await itemIds(session.id)).toEqual([
      'msg_00000000000000000000000000000001',
      'msg_00000000000000000000000000000002',
    ]);
    // A resend of an ingested seq is still a duplicate, and the next seq still lands.
    send(session.id, 2, 'msg_00000000000000000000000000000022', 'dup');
    send(session.id, 3, 'msg_00000000000000000000000000000003', 'three');
    await acked(session.id, 3);
    expect(await itemIds(session.id)).toEqual([
      'msg_00000000000000000000000000000001',
      'msg_00000000000000000000000000000002',
      'msg_00000000000000000000000000000003',
    ]);
  });

  it('should relay, store and replay events, and skip what a reconnected runner resends', async () => {
    const session = await newSession();
    const path = `/v1/sessions/${session.id}/stream`;
    const stream = await openSse(t.url, path, alice.headers);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    send(session.id, 1, msg('c001'), 'one');
    send(session.id, 2, msg('c002'), 'two');
    const relayed = () => stream.frames.filter((f) => f.event === 'response.output_item.done');
    await stream.waitFor(() => relayed().length === 2);
    await acked(session.id, 2);
    const resumed = await openSse(t.url, path, {
      ...alice.headers,
      'Last-Event-ID': relayed()[0].id as string,
    });
    const replayed = await resumed.waitFor((f) => f.event === 'response.output_item.done');
    resumed.close();
    expect(replayed.id).toBe(relayed()[1].id);
    expect((replayed.json?.item as { id: string }).id).toBe(msg('c002'));

    // Seq 3 is stored (relayed) and the channel drops before its ack: the runner still holds it.
    send(session.id, 3, msg('c003'), 'three');
    await stream.waitFor(() => relayed().length === 3);
    stream.close();
    await runner.close();
    runner = await connectFakeRunner(t.url, {
      token: alice.headers.Authorization.slice('Bearer '.length),
      runnerId: runner.runnerId,
      sessions: [{ session_id: session.id, next_seq: 4, parked_elicitations: [] }],
    });
    const held = runner.hello.sessions.find((s) => s.session_id === session.id);
    expect(held).toMatchObject({ action: 'keep' });
    expect(held?.last_acked_seq).toBeLessThanOrEqual(3);
    // It resends seq 3 (its ack never came); the server skips it by seq if it stored it.
    send(session.id, 3, msg('c003'), 'resent');
    send(session.id, 4, msg('c004'), 'four');
    await acked(session.id, 4);
    expect(await itemIds(session.id)).toEqual(['c001', 'c002', 'c003', 'c004'].map(msg));
    const items = await alice.get(`/v1/sessions/${session.id}/items`).expect(200);
    expect(JSON.stringify(items.body.data[2])).toContain('three');
    expect(JSON.stringify(items.body.data)).not.toContain('resent');
  });
});
