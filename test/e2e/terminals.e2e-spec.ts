import WebSocket from 'ws';

import { expectStreamEvent, expectValid } from 'test/contract/upstream-schemas';
import { HttpApi, httpApi } from 'test/utils/http-api';
import { startJwtServer } from 'test/utils/jwt-server';
import { RunnerProcess, ServerProcess, startRunner } from 'test/utils/processes';
import { eventTypes, openSse } from 'test/utils/sse-client';

type Json = Record<string, unknown>;

const SECRET = 'terminals-e2e-secret-0123456789abcdefghij';

/** A WebSocket attached to a terminal, with everything it received as text. */
interface Viewer {
  ws: WebSocket;
  text(): string;
  waitFor(pattern: RegExp, what: string): Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  type(input: string): void;
}

/**
 * Terminals end to end (spec/api-reference.md §8.3 and §13; docs/RESOURCES.md "Terminals"): a real
 * server and a real runner process, PTYs driven through the attach WebSocket with `ws`.
 */
describe('terminals with real server and runner processes (jwt, postgres)', () => {
  let server: ServerProcess;
  let runner: RunnerProcess;
  let aliceToken: string;
  let alice: HttpApi;
  let bob: HttpApi;
  let bobToken: string;
  const open: WebSocket[] = [];

  beforeAll(async () => {
    const jwt = await startJwtServer(SECRET);
    server = jwt.server;
    aliceToken = jwt.newUserToken('alice');
    bobToken = jwt.newUserToken('bob');
    alice = httpApi(server.url, aliceToken);
    bob = httpApi(server.url, bobToken);
    runner = await startRunner(server.url, ['--token', aliceToken]);
  }, 90_000);

  afterEach(() => {
    for (const ws of open.splice(0)) {
      ws.terminate();
    }
  });

  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
  });

  const terminals = (sid: string) => `/v1/sessions/${sid}/resources/terminals`;

  /** A session of the built-in `coder` agent (it declares `terminals: {shell: {command: bash}}`). */
  async function session(runnerId = runner.runnerId): Promise<string> {
    const created = await alice.createSession('coder');
    await alice.bind(created.id, runnerId);
    return created.id;
  }

  async function openShell(sid: string, key = 'main'): Promise<Json> {
    return alice.ok('POST', terminals(sid), { terminal: 'shell', session_key: key });
  }

  function attachUrl(sid: string, tid: string, query = ''): string {
    return `${server.url.replace(/^http/, 'ws')}${terminals(sid)}/${tid}/attach${query}`;
  }

  /** Opens the attach socket; rejects with the HTTP status when the upgrade is refused. */
  function attach(
    sid: string,
    tid: string,
    token = aliceToken,
    query = '',
    protocols?: string[],
  ): Promise<Viewer> {
    const ws = new WebSocket(attachUrl(sid, tid, query), protocols, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    open.push(ws);
    let received = '';
    const waiters: (() => void)[] = [];
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        received += data.toString('utf8');
        waiters.forEach((check) => check());
      }
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    return new Promise((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () =>
          reject(
            Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body }),
          ),
        );
      });
      ws.on('error', reject);
      ws.on('open', () =>
        resolve({
          ws,
          closed,
          text: () => received,
          type: (input) => ws.send(Buffer.from(input, 'utf8'), { binary: true }),
          waitFor: (pattern, what) =>
            new Promise<void>((done, fail) => {
              const timer = setTimeout(
                () =>
                  fail(new Error(`timed out waiting for ${what}; got ${JSON.stringify(received)}`)),
                20_000,
              );
              const check = () => {
                if (pattern.test(received)) {
                  clearTimeout(timer);
                  done();
                }
              };
              waiters.push(check);
              check();
            }),
        }),
      );
    });
  }

  async function refusedStatus(sid: string, tid: string, token: string, query = '') {
    try {
      await attach(sid, tid, token, query);
    } catch (error) {
      return (error as { status?: number; body?: string }).status;
    }
    throw new Error('the upgrade was accepted');
  }

  it('should open a declared terminal, run typed commands, replay scrollback, resize and delete', async () => {
    const sid = await session();
    const stream = await openSse(server.url, `/v1/sessions/${sid}/stream`, {
      Authorization: `Bearer ${aliceToken}`,
    });
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    const terminal = await openShell(sid);
    expect(terminal).toMatchObject({
      id: expect.stringMatching(/^term_[0-9a-f]{32}$/),
      object: 'session.resource',
      type: 'terminal',
      session_id: sid,
      name: 'shell:main',
      metadata: { terminal_name: 'shell', session_key: 'main', running: true, cols: 80, rows: 24 },
    });
    const tid = terminal.id as string;
    // Idempotent on (terminal, session_key); another key is another terminal.
    expect((await openShell(sid)).id).toBe(tid);
    const other = await openShell(sid, 'second');
    expect(other.id).not.toBe(tid);

    const list = await alice.ok<Json>('GET', terminals(sid));
    expect((list.data as Json[]).map((t) => t.id)).toEqual([other.id, tid]);
    // A stream that connects now is told of both (oldest first), then of changed files.
    const late = await openSse(server.url, `/v1/sessions/${sid}/stream`, {
      Authorization: `Bearer ${aliceToken}`,
    });
    await late.waitFor((f) => f.event === 'session.changed_files.invalidated');
    late.close();
    expect(eventTypes(late.frames).filter((type) => type !== 'session.presence')).toEqual([
      'session.heartbeat',
      'session.resource.created',
      'session.resource.created',
      'session.changed_files.invalidated',
    ]);
    const announced = late.frames.filter((f) => f.event === 'session.resource.created');
    expect(announced.map((f) => f.json?.resource)).toEqual([...(list.data as Json[])].reverse());
    late.frames.forEach((f) => expectStreamEvent(f.json));
    expect(await alice.ok('GET', `${terminals(sid)}/${tid}`)).toMatchObject({ id: tid });
    const all = await alice.ok<Json>('GET', `/v1/sessions/${sid}/resources?type=terminal`);
    expectValid('SessionResourcePaginatedList', all);
    expect((all.data as Json[]).map((t) => t.id).sort()).toEqual([tid, other.id].sort());
    expectValid(
      'SessionResourceObject',
      await alice.ok('GET', `/v1/sessions/${sid}/resources/${tid}`),
    );

    const first = await attach(sid, tid);
    // The shell computes the answer, so the echo of the typed line cannot match.
    first.type('echo hi-$((40+2))\r');
    await first.waitFor(/hi-42/, 'the output of echo');

    // A second viewer gets the scrollback, then both see what comes next.
    const second = await attach(sid, tid);
    await second.waitFor(/hi-42/, 'the replayed scrollback');
    second.type('echo from-$((6*7))-second\r');
    await first.waitFor(/from-42-second/, 'output typed by the other viewer');
    await second.waitFor(/from-42-second/, 'its own output');

    first.ws.send(JSON.stringify({ type: 'resize', cols: 132, rows: 43 }));
    first.type('stty size\r');
    await first.waitFor(/43 132/, 'the new size');

    // A read-only viewer sees the output; what it types goes nowhere.
    const watcher = await attach(sid, tid, aliceToken, '?read_only=true');
    await watcher.waitFor(/43 132/, 'the replay');
    watcher.type('echo ignored-$((1+1))\r');
    first.type('echo after-$((2+2))\r');
    await watcher.waitFor(/after-4/, 'live output');
    expect(first.text()).not.toMatch(/ignored-2/);

    const deleted = await alice.request('DELETE', `${terminals(sid)}/${tid}`);
    expect(deleted).toMatchObject({
      status: 200,
      body: { id: tid, object: 'session.resource.deleted', deleted: true },
    });
    expect((await first.closed).code).toBe(4404);
    expect((await second.closed).code).toBe(4404);
    const gone = await alice.request('GET', `${terminals(sid)}/${tid}`);
    expect(gone).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await refusedStatus(sid, tid, aliceToken)).toBe(404);

    // Opening and closing were announced on the session stream, in upstream's shapes.
    await stream.waitFor(
      (f) => f.event === 'session.resource.deleted',
      10_000,
      'session.resource.deleted',
    );
    stream.close();
    const created = stream.frames.filter((f) => f.event === 'session.resource.created');
    expect(created.map((f) => (f.json?.resource as Json).id)).toEqual([tid, other.id]);
    const deletedEvent = stream.frames.find((f) => f.event === 'session.resource.deleted');
    expect(deletedEvent?.json).toMatchObject({ resource_id: tid, resource_type: 'terminal' });
    for (const frame of [...created, deletedEvent]) {
      expectStreamEvent(frame?.json);
    }
  });

  it("should run the terminal in the agent tools' bubblewrap sandbox", async () => {
    const sid = await session();
    const terminal = await openShell(sid);
    const metadata = terminal.metadata as Json;
    expect(metadata.sandbox_type).toBe('bwrap');
    const viewer = await attach(sid, terminal.id as string);
    // A new PID namespace (a handful of processes), a cleared environment, HOME = the workspace,
    // and a read-only system.
    viewer.type(
      'echo pids=$(ls /proc | grep -c "^[0-9]") omnigent=$(env | grep -c OMNIGENT_) home=$HOME; ' +
        'touch /usr/x 2>/dev/null || echo ro-$((1+1))\r',
    );
    await viewer.waitFor(/ro-2/, 'the sandbox probe');
    const probe = /pids=(\d+) omnigent=(\d+) home=(\S+)/.exec(viewer.text());
    expect(Number(probe?.[1])).toBeLessThan(10);
    expect(probe?.[2]).toBe('0');
    expect(probe?.[3]).toBe(metadata.cwd);
  });

  it('should report an exited command and close its viewers', async () => {
    const sid = await session();
    const tid = (await openShell(sid)).id as string;
    const viewer = await attach(sid, tid);
    viewer.type('exit 3\r');
    expect((await viewer.closed).code).toBe(1000);
    const after = await alice.ok<Json>('GET', `${terminals(sid)}/${tid}`);
    expect(after.metadata).toMatchObject({ running: false, exit_code: 3 });
  });

  it('should refuse undeclared terminals and malformed bodies', async () => {
    const sid = await session();
    const undeclared = await alice.request('POST', terminals(sid), {
      terminal: 'zsh',
      session_key: 'k',
    });
    expect(undeclared).toMatchObject({
      status: 404,
      body: { code: 'not_found', message: expect.stringContaining('shell') },
    });
    const missing = await alice.request('POST', terminals(sid), { terminal: 'shell' });
    expect(missing).toMatchObject({ status: 422, body: { code: 'validation_error' } });
    const form = await fetch(`${server.url}${terminals(sid)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', Authorization: `Bearer ${aliceToken}` },
      body: 'terminal=shell',
    });
    expect(form.status).toBe(415);
    const escape = await alice.request('POST', terminals(sid), {
      terminal: 'shell',
      session_key: 'k',
      cwd: '../..',
    });
    expect(escape.status).toBe(400);
  });

  it("should answer another user's terminal with 404 and an anonymous attach with 401", async () => {
    const sid = await session();
    const tid = (await openShell(sid)).id as string;
    expect((await bob.request('GET', `${terminals(sid)}/${tid}`)).status).toBe(404);
    expect((await bob.request('GET', terminals(sid))).status).toBe(404);
    expect((await bob.request('DELETE', `${terminals(sid)}/${tid}`)).status).toBe(404);
    const bobs = await bob.request('POST', terminals(sid), { terminal: 'shell', session_key: 'x' });
    expect(bobs.status).toBe(404);
    expect(await refusedStatus(sid, tid, bobToken)).toBe(404);
    expect(await refusedStatus(sid, tid, bobToken, '?read_only=true')).toBe(404);
    expect(await refusedStatus(sid, tid, '')).toBe(401);
    // Browsers cannot set headers: the token may travel as a second subprotocol, never echoed.
    const browser = await attach(sid, tid, '', '', [
      'omnigent.terminal.v1',
      `omnigent.bearer.${aliceToken}`,
    ]);
    expect(browser.ws.protocol).toBe('omnigent.terminal.v1');
    browser.ws.close();
    await expect(
      attach(sid, tid, '', '', ['omnigent.terminal.v1', `omnigent.bearer.${bobToken}`]),
    ).rejects.toMatchObject({ status: 404 });
    expect(await refusedStatus(sid, 'term_nope', aliceToken)).toBe(404);
    expect(await refusedStatus(sid, `term_${'0'.repeat(32)}`, aliceToken)).toBe(404);
    // Another session, even the same owner's on the same runner, does not reach it.
    const sibling = await session();
    expect(await refusedStatus(sibling, tid, aliceToken)).toBe(404);
    expect((await alice.request('GET', `${terminals(sibling)}/${tid}`)).status).toBe(404);
    expect((await alice.request('DELETE', `${terminals(sibling)}/${tid}`)).status).toBe(404);
    expect(await alice.ok('GET', `${terminals(sid)}/${tid}`)).toMatchObject({ id: tid });
  });

  it('should answer 409 unbound and 503 with the runner offline, and end terminals with their session', async () => {
    const unbound = (await alice.createSession('coder')).id;
    await alice.ok('PATCH', `/v1/sessions/${unbound}`, { runner_id: '' });
    const conflict = await alice.request('POST', terminals(unbound), {
      terminal: 'shell',
      session_key: 'k',
    });
    expect(conflict).toMatchObject({ status: 409, body: { code: 'conflict' } });

    const second = await startRunner(server.url, ['--token', aliceToken]);
    const sid = await session(second.runnerId);
    const tid = (await openShell(sid)).id as string;
    const viewer = await attach(sid, tid);
    await second.stop();
    // The runner stopped: its terminals ended and their viewers were closed.
    expect([4404, 1011]).toContain((await viewer.closed).code);
    const offline = await alice.request('POST', terminals(sid), {
      terminal: 'shell',
      session_key: 'k',
    });
    expect(offline).toMatchObject({ status: 503, body: { code: 'runner_unavailable' } });
    expect(await refusedStatus(sid, tid, aliceToken)).toBe(503);

    const doomed = await session();
    const doomedTid = (await openShell(doomed)).id as string;
    const doomedViewer = await attach(doomed, doomedTid);
    await alice.ok('DELETE', `/v1/sessions/${doomed}`);
    expect(await doomedViewer.closed).toEqual({ code: 4404, reason: 'terminal closed' });
  });
});
