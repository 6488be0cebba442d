import { useTestApp } from 'test/e2e/create-app';
import { clientFor, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { useServerWithRunner } from 'test/utils/server-with-runner';
import { openSse } from 'test/utils/sse-client';

/** A GET with If-None-Match over real HTTP: status, ETag and body text. */
async function conditionalGet(url: string, etag?: string) {
  const res = await fetch(url, {
    headers: { Origin: 'omnigent://internal', ...(etag ? { 'If-None-Match': etag } : {}) },
  });
  return { status: res.status, etag: res.headers.get('etag') as string, text: await res.text() };
}

/**
 * Conditional GETs of snapshots and items pages keyed by version (issue 12, third pass): 304
 * while nothing changed, 200 with a new ETag after each kind of write, on a server process with
 * a real runner.
 */
describe('conditional GET of sessions on a running server with a runner', () => {
  const stack = useServerWithRunner();

  it('should answer 304 until a user message, runner events or a title change, then 200 with a new ETag', async () => {
    const session = await stack.api.createSession('echo', { title: 'Before' });
    await stack.api.bind(session.id, stack.runner.runnerId);
    const snapshotUrl = `${stack.server.url}/v1/sessions/${session.id}`;
    const itemsUrl = `${snapshotUrl}/items`;

    const first = await conditionalGet(snapshotUrl);
    expect(first.status).toBe(200);
    expect(first.etag).toMatch(/^"v[\w-]{22}"$/);
    expect(await conditionalGet(snapshotUrl, first.etag)).toEqual({
      status: 304,
      etag: first.etag,
      text: '',
    });
    const items = await conditionalGet(itemsUrl);
    expect((await conditionalGet(itemsUrl, items.etag)).status).toBe(304);

    // A user message, and the runner's events answering it.
    const stream = await openSse(stack.server.url, `/v1/sessions/${session.id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    expect((await stack.api.say(session.id, 'ping')).status).toBe(202);
    await stream.waitFor((f) => f.event === 'response.completed', 20_000);
    stream.close();
    const afterTurn = await conditionalGet(snapshotUrl, first.etag);
    expect(afterTurn.status).toBe(200);
    expect(afterTurn.etag).not.toBe(first.etag);
    const body = JSON.parse(afterTurn.text) as { items: { data: { role: string } }[] };
    expect(body.items.map((i) => i.data.role)).toEqual(['user', 'assistant']);
    expect((await conditionalGet(snapshotUrl, afterTurn.etag)).status).toBe(304);
    const itemsAfter = await conditionalGet(itemsUrl, items.etag);
    expect(itemsAfter.status).toBe(200);
    expect(JSON.parse(itemsAfter.text).data).toHaveLength(2);
    expect((await conditionalGet(itemsUrl, itemsAfter.etag)).status).toBe(304);

    await stack.api.ok('PATCH', `/v1/sessions/${session.id}`, { title: 'After' });
    const renamed = await conditionalGet(snapshotUrl, afterTurn.etag);
    expect(renamed.status).toBe(200);
    expect(renamed.etag).not.toBe(afterTurn.etag);
    expect(JSON.parse(renamed.text).title).toBe('After');
    expect((await conditionalGet(snapshotUrl, renamed.etag)).status).toBe(304);
  });
});

describe('conditional GET of sessions across users', () => {
  const t = useTestApp('postgres', JWT_ENV);

  it("should answer 404 for another user's session, cached or named by its ETag", async () => {
    const owner = clientFor(t, uniqueUser('owner'));
    const other = clientFor(t, uniqueUser('other'));
    const { id } = (
      await owner
        .post('/v1/sessions')
        .send({ agent_id: await echoId() })
        .expect(201)
    ).body as { id: string };
    const snapshot = await owner.get(`/v1/sessions/${id}`).expect(200);
    const items = await owner.get(`/v1/sessions/${id}/items`).expect(200);
    await owner.get(`/v1/sessions/${id}`).set('If-None-Match', snapshot.headers.etag).expect(304);

    await other.get(`/v1/sessions/${id}`).expect(404);
    await other.get(`/v1/sessions/${id}`).set('If-None-Match', snapshot.headers.etag).expect(404);
    await other
      .get(`/v1/sessions/${id}/items`)
      .set('If-None-Match', items.headers.etag)
      .expect(404);
    await other.get(`/v1/sessions/${id}/items`).expect(404);
  });

  async function echoId(): Promise<string> {
    const res = await clientFor(t, uniqueUser('agents')).get('/v1/agents?limit=1000').expect(200);
    return (res.body.data as { id: string; name: string }[]).find((a) => a.name === 'echo')!.id;
  }
});
