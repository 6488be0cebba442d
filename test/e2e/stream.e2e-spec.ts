import net from 'node:net';

import { EventBus, sessionChannel } from 'src/common/bus/event-bus';
import { expectStreamEvent } from 'test/contract/upstream-schemas';
import { createTestApp, useTestApp } from 'test/e2e/create-app';
import { eventually, httpApi, HttpApi, sleep } from 'test/utils/http-api';
import { ServerProcess, startServer } from 'test/utils/processes';
import { eventTypes, isAmbient, openSse } from 'test/utils/sse-client';

const compaction = (summary: string) => ({
  type: 'compaction',
  data: { summary, last_item_id: 'msg_x', token_count: 1 },
});

describe('session stream (SSE)', () => {
  let api: HttpApi;

  const t = useTestApp(
    'postgres',
    {
      OMNIGENT_SSE_HEARTBEAT_MS: '400',
      OMNIGENT_EVENT_LOG_RETENTION: '10',
      OMNIGENT_SWEEPER_INTERVAL_MS: '50',
    },
    { listen: true },
  );
  beforeAll(() => {
    api = httpApi(t.url);
  });

  it('should answer errors as JSON before any SSE byte', async () => {
    const missing = await openSse(t.url, `/v1/sessions/conv_${'0'.repeat(32)}/stream`);
    await missing.ended;
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body())).toMatchObject({
      code: 'not_found',
      error: { code: 'not_found' },
    });
  });

  it('should send the heartbeat first, then session.interrupted after an interrupt', async () => {
    const { id } = await api.createSession('echo');
    const stream = await openSse(t.url, `/v1/sessions/${id}/stream`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    await stream.waitFor(() => stream.frames.length > 0);
    expect(stream.frames[0]).toMatchObject({ event: 'session.heartbeat', id: '0' });
    expect(stream.frames[0].json).toMatchObject({
      type: 'session.heartbeat',
      sequence_number: null,
    });
    expect(
      await api.request('POST', `/v1/sessions/${id}/events`, { type: 'interrupt', data: {} }),
    ).toEqual({
      status: 202,
      body: { queued: false },
    });
    const interrupted = await stream.waitFor((f) => f.event === 'session.interrupted');
    expect(interrupted.id).toBe('1');
    expect(interrupted.json).toEqual({
      type: 'session.interrupted',
      sequence_number: null,
      data: { requested_at: expect.any(Number), response_id: null },
    });
    // Heartbeats follow after a quiet spell and repeat the last durable id.
    const later = await stream.waitFor(
      (f) => f.event === 'session.heartbeat' && f.id === '1',
      3000,
    );
    expect(later.json?.type).toBe('session.heartbeat');
    stream.close();
  });

  it('should send one session.changed_files.invalidated on connect, after the heartbeat', async () => {
    const { id } = await api.createSession('echo');
    const stream = await openSse(t.url, `/v1/sessions/${id}/stream`);
    const nudge = await stream.waitFor((f) => f.event === 'session.changed_files.invalidated');
    await sleep(200);
    stream.close();
    expect(eventTypes(stream.frames)).toEqual([
      'session.heartbeat',
      'session.changed_files.invalidated',
    ]);
    expect(nudge).toMatchObject({ id: '0' });
    expect(nudge.json).toEqual({
      type: 'session.changed_files.invalidated',
      sequence_number: null,
      session_id: id,
      environment_id: 'default',
    });
    stream.frames.forEach((f) => expectStreamEvent(f.json));
  });

  it('should replay exactly the missed events after Last-Event-ID, then go live', async () => {
    const { id } = await api.createSession('echo');
    const first = await openSse(t.url, `/v1/sessions/${id}/stream`);
    await first.waitFor((f) => f.event === 'session.heartbeat');
    await api.ok('POST', `/v1/sessions/${id}/events`, compaction('one'));
    await api.ok('POST', `/v1/sessions/${id}/events`, compaction('two'));
    await first.waitFor(
      () => first.frames.filter((f) => f.event === 'response.output_item.done').length === 2,
    );
    first.close();
    const lastId = first.frames.filter((f) => f.event === 'response.output_item.done')[1]
      .id as string;
    expect(lastId).toBe('2');

    await api.ok('POST', `/v1/sessions/${id}/events`, compaction('three'));
    await api.ok('POST', `/v1/sessions/${id}/events`, { type: 'interrupt', data: {} });
    const resumed = await openSse(t.url, `/v1/sessions/${id}/stream`, {
      'Last-Event-ID': lastId,
    });
    await resumed.waitFor((f) => f.event === 'session.interrupted');
    await api.ok('POST', `/v1/sessions/${id}/events`, compaction('four'));
    await resumed.waitFor((f) => (f.json?.item as { summary?: string })?.summary === 'four');
    resumed.close();
    const durable = resumed.frames.filter((f) => !isAmbient(f));
    expect(durable.map((f) => [f.id, f.event])).toEqual([
      ['3', 'response.output_item.done'],
      ['4', 'session.interrupted'],
      ['5', 'response.output_item.done'],
    ]);
    expect((durable[0].json?.item as { summary: string }).summary).toBe('three');
    expect(resumed.frames[0]).toMatchObject({ event: 'session.heartbeat', id: '2' });

    // Without Last-Event-ID: upstream's live tail, nothing replayed (only the connect nudge).
    const fresh = await openSse(t.url, `/v1/sessions/${id}/stream`);
    await fresh.waitFor((f) => f.event === 'session.heartbeat');
    await sleep(200);
    fresh.close();
    expect(eventTypes(fresh.frames)).toEqual([
      'session.heartbeat',
      'session.changed_files.invalidated',
    ]);
    expect(fresh.frames.map((f) => f.id)).toEqual(['5', '5']);
  });

  it('should send stream.reset when the resume point was pruned', async () => {
    const { id } = await api.createSession('echo');
    for (let i = 0; i < 14; i++) {
      await api.ok('POST', `/v1/sessions/${id}/events`, { type: 'interrupt', data: {} });
    }
    // The sweeper keeps the newest 10 (OMNIGENT_EVENT_LOG_RETENTION).
    await eventually(
      async () => {
        const stream = await openSse(t.url, `/v1/sessions/${id}/stream`, {
          'Last-Event-ID': '1',
        });
        const reset = await stream.waitFor(
          (f) => f.event === 'stream.reset' || f.event === 'session.interrupted',
          2000,
        );
        stream.close();
        expect(reset.event).toBe('stream.reset');
        expect(reset.json).toEqual({ type: 'stream.reset', conversation_id: id });
        expect(reset.id).toBe('14');
      },
      10_000,
      200,
    );
    // A resume point still in the log replays normally.
    const ok = await openSse(t.url, `/v1/sessions/${id}/stream`, {
      'Last-Event-ID': '12',
    });
    await ok.waitFor(() => ok.frames.filter((f) => f.event === 'session.interrupted').length === 2);
    ok.close();
    expect(ok.frames.filter((f) => f.event === 'session.interrupted').map((f) => f.id)).toEqual([
      '13',
      '14',
    ]);
  });

  it('should end with [DONE] when the session is deleted, and unsubscribe on disconnect', async () => {
    const bus = t.app.get(EventBus);
    const { id } = await api.createSession('echo');
    const stream = await openSse(t.url, `/v1/sessions/${id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    expect(bus.subscriberCount(sessionChannel(id))).toBe(1);
    await api.ok('DELETE', `/v1/sessions/${id}`);
    const done = await stream.waitFor((f) => f.data === '[DONE]');
    expect(done.event).toBeUndefined();
    expect(done.raw).toBe('id: 0\ndata: [DONE]');
    await stream.ended;
    await eventually(async () => expect(bus.subscriberCount(sessionChannel(id))).toBe(0));

    const other = await api.createSession('echo');
    const dropped = await openSse(t.url, `/v1/sessions/${other.id}/stream`);
    await dropped.waitFor((f) => f.event === 'session.heartbeat');
    expect(bus.subscriberCount(sessionChannel(other.id))).toBe(1);
    dropped.close();
    await eventually(
      async () => expect(bus.subscriberCount(sessionChannel(other.id))).toBe(0),
      2000,
      20,
    );
  });

  it('should end open streams with [DONE] on shutdown', async () => {
    const other = await createTestApp('postgres');
    const otherApi = httpApi(await other.listen());
    const { id } = await otherApi.createSession('echo');
    const stream = await openSse(other.url as string, `/v1/sessions/${id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    await other.close();
    await stream.ended;
    expect(stream.frames.at(-1)?.data).toBe('[DONE]');
  });
});

describe('session stream back-pressure (real server process)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
      OMNIGENT_SSE_MAX_PENDING: '65536',
    });
  }, 60_000);
  afterAll(() => server?.stop());

  it('should drop a client that stops reading, without [DONE]', async () => {
    const api = httpApi(server.url);
    const { id } = await api.createSession('echo');
    const { port } = new URL(server.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `GET /v1/sessions/${id}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`,
    );
    const firstChunk = await new Promise<string>((resolve) =>
      socket.once('data', (d) => resolve(d.toString())),
    );
    expect(firstChunk).toMatch(/200 OK/);
    socket.pause();
    // Enough to fill the kernel's socket buffers (several MB on loopback) and then Nest's limit.
    const big = 'x'.repeat(96 * 1024);
    for (let i = 0; i < 160; i++) {
      await api.ok('POST', `/v1/sessions/${id}/events`, compaction(`${i}:${big}`));
    }
    await server.waitForOutput(/client is not reading its events/, 20_000);
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(received).not.toContain('[DONE]');
    expect((received.match(/event: response.output_item.done/g) ?? []).length).toBeLessThan(160);
  });
});
