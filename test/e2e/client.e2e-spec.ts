import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { OmnigentClient, OmnigentError } from '@omnigent-server/client';

import { ServerProcess, startServer } from 'test/utils/processes';
import { AMBIENT_TYPES, openSse } from 'test/utils/sse-client';
import { startTcpProxy, TcpProxy } from 'test/utils/tcp-proxy';

const ROOT = join(__dirname, '..', '..');
const TRANSIENT = new Set(['response.output_text.delta', ...AMBIENT_TYPES]);

describe('@omnigent-server/client against a real server', () => {
  let server: ServerProcess;
  let proxy: TcpProxy;

  beforeAll(async () => {
    server = await startServer({ OMNIGENT_LOCAL_RUNNER: 'auto' });
    await server.waitForOutput(/\[LocalRunner\].*Runner (runner_token_\w+) connected/);
    proxy = await startTcpProxy(server.url);
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  });

  it('should create a session and stream a turn', async () => {
    const client = new OmnigentClient({ baseUrl: server.url });
    const agent = await client.agents.getByName('echo');
    const session = await client.sessions.create({ agent_id: agent.id });
    expect(session.id).toMatch(/^conv_[0-9a-f]{32}$/);
    const stream = client.sessions.stream(session.id, { lastEventId: '0' });
    const ack = await client.sessions.send(session.id, 'typed hello');
    // As the client's README says: deltas are live only, and this stream connects after the POST,
    // so a fast turn may stream some of them before it; the durable item carries the whole text.
    let deltas = '';
    let reply = '';
    const types: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') {
        deltas += event.delta;
      }
      if (event.type === 'response.output_item.done' && event.item.role === 'assistant') {
        reply = (event.item.content as { text?: string }[]).map((part) => part.text ?? '').join('');
      }
      if (event.type === 'response.completed') {
        break;
      }
    }
    expect(reply).toBe('typed hello');
    expect(reply.endsWith(deltas)).toBe(true);
    expect(types).toContain('session.input.consumed');
    expect(stream.closed).toBe(true);
    const items = await client.sessions.items(session.id);
    expect(items.data.map((item) => item.id)).toContain(ack.item_id);
    const listed = await client.sessions.list({ limit: 1000 });
    expect(listed.data.map((row) => row.id)).toContain(session.id);
  });

  it('should survive a dropped connection mid-turn without losing a durable event', async () => {
    const client = new OmnigentClient({ baseUrl: proxy.url });
    const agent = await client.agents.getByName('echo');
    const session = await client.sessions.create({ agent_id: agent.id });
    const reconnects: number[] = [];
    const stream = client.sessions.stream(session.id, {
      lastEventId: '0',
      reconnect: { initialDelayMs: 50 },
      onReconnect: ({ attempt }) => reconnects.push(attempt),
    });
    await client.sessions.send(session.id, '/sleep 1500');
    const durableIds: number[] = [];
    let finalText = '';
    let cut = false;
    for await (const event of stream) {
      if (!TRANSIENT.has(event.type)) {
        durableIds.push(Number(stream.lastEventId));
      }
      if (event.type === 'response.output_text.delta' && !cut) {
        cut = true;
        proxy.cut(); // a network drop in the middle of the reply
      }
      if (event.type === 'response.output_item.done') {
        finalText = JSON.stringify(event.item);
      }
      if (event.type === 'session.status' && event.status === 'idle') {
        break;
      }
    }
    expect(cut).toBe(true);
    expect(stream.reconnects).toBeGreaterThanOrEqual(1);
    expect(reconnects[0]).toBe(1);
    expect(finalText).toContain('Slept 1500 ms.');
    // Every durable event arrived exactly once and in order: 1, 2, …, n, as the server stored them.
    expect(durableIds).toEqual(durableIds.map((_, i) => i + 1));
    const replay = await openSse(server.url, `/v1/sessions/${session.id}/stream`, {
      'Last-Event-ID': '0',
    });
    await replay.waitFor((f) => f.json?.type === 'session.status' && f.json.status === 'idle');
    replay.close();
    const stored = replay.frames
      .filter((f) => f.json?.type && !TRANSIENT.has(f.json.type))
      .map((f) => Number(f.id));
    expect(durableIds).toEqual(stored);
  });

  it('should report errors as OmnigentError with status, code and message', async () => {
    const client = new OmnigentClient({ baseUrl: server.url });
    const missing = await client.sessions
      .get('conv_00000000000000000000000000000000')
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OmnigentError);
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    expect((missing as OmnigentError).requestId).toMatch(/^[0-9a-f]{32}$/);

    const invalid = await client.sessions
      .create({} as { agent_id: string })
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 422, code: 'validation_error' });
    expect((invalid as OmnigentError).detail?.[0]).toMatchObject({ loc: ['body', 'agent_id'] });

    const unknownAgent = await client.agents.getByName('nope').catch((e: unknown) => e);
    expect((unknownAgent as OmnigentError).message).toContain('echo');

    // A stream the server refuses fails at once (no reconnect loop).
    const stream = client.sessions.stream('conv_00000000000000000000000000000000');
    const refused = await (async () => {
      for await (const _ of stream) {
        // nothing arrives
      }
    })().catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 404, code: 'not_found' });
    expect(stream.reconnects).toBe(0);

    expect(() => new OmnigentClient({ baseUrl: 'localhost:6767' })).toThrow(
      expect.objectContaining({ code: 'invalid_url' }),
    );
    const closed = await startTcpProxy('http://127.0.0.1:9');
    await closed.close();
    const unreachable = await new OmnigentClient({ baseUrl: closed.url })
      .info()
      .catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ status: 0, code: 'connection_error', unreachable: true });
  });

  it('should install from its packed tarball and run the README examples', async () => {
    const work = mkdtempSync(join(tmpdir(), 'omnigent-client-pack-'));
    try {
      const packed = JSON.parse(
        execFileSync(
          'npm',
          ['pack', '--json', '--pack-destination', work, '-w', '@omnigent-server/client'],
          { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      ) as { filename: string; files: { path: string }[] }[];
      const files = packed[0].files.map((f) => f.path);
      expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts']));
      expect(files.some((f) => f.startsWith('src/'))).toBe(false);
      const app = join(work, 'app');
      execFileSync('mkdir', ['-p', app]);
      writeFileSync(join(app, 'package.json'), '{"name":"app","private":true,"type":"module"}');
      execFileSync(
        'npm',
        ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed[0].filename)],
        { cwd: app, stdio: 'ignore' },
      );
      const readme = readFileSync(join(ROOT, 'clients', 'typescript', 'README.md'), 'utf8');
      const examples = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
      expect(examples.length).toBeGreaterThanOrEqual(3);
      const outputs = examples.map((code, i) => {
        const file = join(app, `example-${i}.mjs`);
        writeFileSync(file, code);
        return execFileSync(process.execPath, [file], {
          cwd: app,
          encoding: 'utf8',
          env: { ...process.env, OMNIGENT_SERVER_URL: server.url },
          timeout: 30_000,
        });
      });
      expect(outputs[0]).toContain('reply: hello from the client');
      expect(outputs[1]).toContain('404 not_found');
      expect(outputs[1]).toContain('422 validation_error: body.agent_id');
      expect(outputs[1]).toContain('unreachable: true');
      expect(outputs[2]).toMatch(/resumed after event \d+: true/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});
