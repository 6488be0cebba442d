import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import WebSocket from 'ws';

import { mintToken } from 'src/common/auth/token-signer';
import { getConfig } from 'src/config/app-config';
import { HOST_SUBPROTOCOL } from 'src/protocol/host-protocol';
import { expectValid } from 'test/contract/upstream-schemas';
import { echoAgentBundle } from 'test/utils/agent-bundle';
import { upgradeStatus } from 'test/utils/channel-upgrade';
import { HttpApi, httpApi, eventually } from 'test/utils/http-api';
import { ManagedProcess, ServerProcess, spawnCli, startServer } from 'test/utils/processes';

const SECRET = 'hosts-e2e-secret-0123456789abcdef0123';
const RPC_TIMEOUT_MS = 1_000;
const LAUNCH_TIMEOUT_MS = 1_500;

// Each test starts runner processes (and some a daemon) on a machine shared with other test runs.
jest.setTimeout(180_000);

interface HostDaemon extends ManagedProcess {
  hostId: string;
  stateDir: string;
}

interface Snapshot {
  id: string;
  status: string;
  runner_id: string | null;
  host_id: string | null;
  workspace: string | null;
  host_online: boolean | null;
  runner_online: boolean | null;
  items: { type: string; data?: { role?: string } }[];
}

const hostChannel = (url: string, hostId: string) =>
  `${url.replace('http', 'ws')}/v1/hosts/${hostId}/channel`;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * A fake host: says host.hello, then never answers anything (the 504 cases). Resolves once
 * registered, with the socket and the server's requests as they arrive.
 */
async function silentHost(
  url: string,
  hostId: string,
  token: string,
): Promise<{ ws: WebSocket; requests: string[]; closed: Promise<number> }> {
  const ws = new WebSocket(hostChannel(url, hostId), HOST_SUBPROTOCOL, { headers: bearer(token) });
  const requests: string[] = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () =>
      ws.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'host.hello',
          params: {
            protocol: 1,
            version: 'fake',
            name: 'silent',
            runners: [],
            capabilities: { harnesses: { echo: true } },
          },
        }),
      ),
    );
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; method?: string };
      if (message.id === 1 && !message.method) {
        resolve();
      } else if (message.method && message.method !== '$/heartbeat') {
        requests.push(message.method);
      }
    });
  });
  // Keep the channel alive: heartbeats only.
  const beat = setInterval(
    () => ws.send(JSON.stringify({ jsonrpc: '2.0', method: '$/heartbeat', params: { ts: 0 } })),
    500,
  );
  ws.on('close', () => clearInterval(beat));
  return { ws, requests, closed };
}

describe('hosts (jwt mode, real server, host daemon and runner processes)', () => {
  let server: ServerProcess;
  let alice: HttpApi;
  let bob: HttpApi;
  let aliceToken: string;
  let bobToken: string;
  let root: string;
  let workspace: string;
  let host: HostDaemon;
  let echoAgent: string;
  const daemons: HostDaemon[] = [];

  const startHost = async (
    token: string,
    options: { stateDir?: string; env?: Record<string, string> } = {},
  ): Promise<HostDaemon> => {
    const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'omnigent-host-'));
    const proc = spawnCli(['host', '--server', server.url, '--token', token, '--name', 'e2e-box'], {
      ...options.env,
      OMNIGENT_HOST_STATE_DIR: stateDir,
      OPENAI_API_KEY: '',
      // The daemon serves only the test root (not the home directory).
      HOME: root,
    });
    const match = await proc.waitForOutput(
      /Host (host_[0-9a-f]{32}) \(e2e-box\) registered/,
      60_000,
    );
    const daemon = { ...proc, hostId: match[1], stateDir };
    daemons.push(daemon);
    return daemon;
  };

  const runnerPids = (daemon: HostDaemon): Record<string, { pid: number }> => {
    const file = join(daemon.stateDir, 'runners.json');
    return existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as { runners: Record<string, { pid: number }> })
          .runners
      : {};
  };

  const snapshot = (api: HttpApi, id: string) => api.ok<Snapshot>('GET', `/v1/sessions/${id}`);

  const replyTo = async (api: HttpApi, id: string, text: string) => {
    const sent = await api.say(id, text);
    expect(sent.status).toBe(202);
    return eventually(
      async () => {
        const s = await snapshot(api, id);
        const reply = s.items.find(
          (i) =>
            i.type === 'message' &&
            i.data?.role === 'assistant' &&
            JSON.stringify(i).includes(text),
        );
        // The whole transcript in the failure message, if it comes to that.
        expect({ replied: reply !== undefined, status: s.status, items: s.items }).toMatchObject({
          replied: true,
          status: 'idle',
        });
        return s;
      },
      45_000,
      200,
    );
  };

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'omnigent-host-root-')));
    workspace = join(root, 'project');
    mkdirSync(workspace);
    writeFileSync(join(root, 'a.txt'), 'a');
    writeFileSync(join(root, 'b.txt'), 'bb');
    server = await startServer({
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
      OMNIGENT_AUTH: 'jwt',
      OMNIGENT_JWT_SECRET: SECRET,
      OMNIGENT_RUNNER_HEARTBEAT_MS: '1000',
      OMNIGENT_RUNNER_LIVENESS_TTL_MS: '4000',
      OMNIGENT_HOST_RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
      OMNIGENT_HOST_LAUNCH_TIMEOUT_MS: String(LAUNCH_TIMEOUT_MS),
    });
    const auth = getConfig({ OMNIGENT_AUTH: 'jwt', OMNIGENT_JWT_SECRET: SECRET }).auth;
    const suffix = Math.random().toString(16).slice(2, 8);
    aliceToken = mintToken(auth, { sub: `alice-${suffix}`, ttlSeconds: 3600 }).token;
    bobToken = mintToken(auth, { sub: `bob-${suffix}`, ttlSeconds: 3600 }).token;
    alice = httpApi(server.url, aliceToken);
    bob = httpApi(server.url, bobToken);
    echoAgent = await alice.agentId('echo');
    host = await startHost(aliceToken);
  }, 120_000);

  afterAll(async () => {
    // SIGTERM: a daemon stops its runners before it exits.
    await Promise.all(daemons.map((d) => d.stop()));
    for (const daemon of daemons) {
      for (const { pid } of Object.values(runnerPids(daemon))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await server?.stop();
  });

  it('should register the machine: online in GET /v1/hosts with its harnesses', async () => {
    const list = await alice.ok<{ hosts: Record<string, unknown>[] }>('GET', '/v1/hosts');
    expect(list.hosts).toContainEqual({
      host_id: host.hostId,
      name: 'e2e-box',
      owner: expect.stringMatching(/^alice-/),
      status: 'online',
      sandbox_provider: null,
      configured_harnesses: { echo: true, openai: 'OPENAI_API_KEY is not set' },
      gateway_inference: null,
    });
    const one = await alice.ok<Record<string, unknown>>('GET', `/v1/hosts/${host.hostId}`);
    expect(one).toMatchObject({ host_id: host.hostId, status: 'online', runners: [] });
    // Upstream's bare 32-hex form works too.
    expect((await alice.request('GET', `/v1/hosts/${host.hostId.slice(5)}`)).status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^omnigent_hosts_connected 1$/m);
  });

  it('should authorise the channel before the upgrade and keep a host id to its owner', async () => {
    expect(await upgradeStatus(hostChannel(server.url, host.hostId), HOST_SUBPROTOCOL)).toBe(401);
    expect(
      await upgradeStatus(
        hostChannel(server.url, 'host_nope'),
        HOST_SUBPROTOCOL,
        bearer(aliceToken),
      ),
    ).toBe(404);
    expect(
      await upgradeStatus(hostChannel(server.url, host.hostId), HOST_SUBPROTOCOL, bearer(bobToken)),
    ).toBe(409);
  });

  it('should browse the host: ~ expanded, paged by entry path, mkdir', async () => {
    const home = await alice.ok<{ object: string; data: { name: string }[]; has_more: boolean }>(
      'GET',
      `/v1/hosts/${host.hostId}/filesystem`,
    );
    expect(home.object).toBe('list');
    expect(home.data.map((e) => e.name)).toEqual(['a.txt', 'b.txt', 'project']);

    const first = await alice.ok<{ data: Record<string, unknown>[]; has_more: boolean }>(
      'GET',
      `/v1/hosts/${host.hostId}/filesystem${root}?limit=1`,
    );
    expect(first).toEqual({
      object: 'list',
      data: [
        {
          name: 'a.txt',
          path: join(root, 'a.txt'),
          type: 'file',
          bytes: 1,
          modified_at: expect.any(Number),
        },
      ],
      has_more: true,
    });
    const next = await alice.ok<{ data: { name: string }[]; has_more: boolean }>(
      'GET',
      `/v1/hosts/${host.hostId}/filesystem${root}?limit=5&after=${encodeURIComponent(join(root, 'a.txt'))}`,
    );
    expect(next.data.map((e) => e.name)).toEqual(['b.txt', 'project']);
    expect(next.has_more).toBe(false);

    expectValid('CreateDirectoryRequest', { path: '~/made/deeper' });
    const made = await alice.ok<{ object: string; path: string }>(
      'POST',
      `/v1/hosts/${host.hostId}/directories`,
      { path: '~/made/deeper' },
    );
    expect(made).toEqual({ object: 'directory', path: join(root, 'made', 'deeper') });
    expect(existsSync(join(root, 'made', 'deeper'))).toBe(true);
    const again = await alice.request('POST', `/v1/hosts/${host.hostId}/directories`, {
      path: '~/made/deeper',
    });
    expect(again.status).toBe(409);

    const missing = await alice.request('GET', `/v1/hosts/${host.hostId}/filesystem${root}/nope`);
    expect(missing.status).toBe(404);
  });

  it('should refuse traversal, paths outside the roots, relative paths and NUL', async () => {
    const base = `/v1/hosts/${host.hostId}`;
    const outside = [
      `${base}/filesystem${root}/..%2F..%2Fetc`,
      `${base}/filesystem/~%2F..%2F..%2Fetc`,
      `${base}/filesystem/etc`,
    ];
    for (const path of outside) {
      const res = await alice.request<{ code: string }>('GET', path);
      expect({ path, status: res.status, code: res.body.code }).toEqual({
        path,
        status: 403,
        code: 'forbidden',
      });
    }
    // A symlink inside the root that leads out of it.
    symlinkSync('/etc', join(root, 'escape'));
    expect((await alice.request('GET', `${base}/filesystem${root}/escape`)).status).toBe(403);
    expect(
      (await alice.request('POST', `${base}/directories`, { path: '~/../../tmp/evil' })).status,
    ).toBe(403);
    expect((await alice.request('POST', `${base}/directories`, { path: 'relative' })).status).toBe(
      400,
    );
    expect((await alice.request('POST', `${base}/directories`, { path: '' })).status).toBe(400);
    expect((await alice.request('GET', `${base}/filesystem${root}%00`)).status).toBe(400);
    expect(existsSync('/tmp/evil')).toBe(false);
  });

  it("should answer 404 for another user's host on every route", async () => {
    const base = `/v1/hosts/${host.hostId}`;
    expect((await bob.ok<{ hosts: unknown[] }>('GET', '/v1/hosts')).hosts).toEqual([]);
    const session = await alice.createSession('echo');
    const attempts: [string, string, unknown?][] = [
      ['GET', base],
      ['GET', `${base}/filesystem`],
      ['GET', `${base}/filesystem/tmp`],
      ['POST', `${base}/directories`, { path: '~/bob' }],
      ['GET', `${base}/worktrees?path=${encodeURIComponent(root)}`],
      ['POST', `${base}/runners`, { session_id: session.id, workspace }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await bob.request<{ code: string }>(method, path, body);
      expect({ path, status: res.status, code: res.body.code }).toEqual({
        path,
        status: 404,
        code: 'not_found',
      });
    }
    const create = await bob.request('POST', '/v1/sessions', {
      agent_id: echoAgent,
      host_id: host.hostId,
      workspace,
    });
    expect(create.status).toBe(404);
    expect(existsSync(join(root, 'bob'))).toBe(false);
    // And alice cannot launch bob's session on her host.
    const bobs = await bob.createSession('echo');
    const launch = await alice.request('POST', `${base}/runners`, {
      session_id: bobs.id,
      workspace,
    });
    expect(launch.status).toBe(404);
  });

  it('should list git worktrees of a repository on the host', async () => {
    const repo = join(root, 'repo');
    mkdirSync(repo);
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repo, ...args], {
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@t',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@t',
        },
      });
    git('init', '-q', '-b', 'main');
    git('commit', '-q', '--allow-empty', '-m', 'init');
    git('worktree', 'add', '-q', '-b', 'feature', join(root, 'repo-feature'));
    const list = await alice.ok<{ object: string; data: unknown[] }>(
      'GET',
      `/v1/hosts/${host.hostId}/worktrees?path=${encodeURIComponent(repo)}`,
    );
    expect(list).toEqual({
      object: 'list',
      data: [
        { path: repo, branch: 'main', is_main: true, detached: false },
        { path: join(root, 'repo-feature'), branch: 'feature', is_main: false, detached: false },
      ],
    });
    const notRepo = await alice.request(
      'GET',
      `/v1/hosts/${host.hostId}/worktrees?path=${encodeURIComponent(workspace)}`,
    );
    expect(notRepo.status).toBe(400);
  });

  it('should run a session created with host_id on a runner the daemon launched, in that workspace', async () => {
    const created = await alice.ok<Snapshot>('POST', '/v1/sessions', {
      agent_id: echoAgent,
      host_id: host.hostId,
      workspace,
    });
    expect(created.runner_id).toMatch(/^runner_token_[0-9a-f]{32}$/);
    expect(created).toMatchObject({ host_id: host.hostId, workspace, host_online: true });
    expectValid('SessionResponse', created);
    await host.waitForOutput(new RegExp(`launched runner ${created.runner_id}`));
    // The binding token is in the runner's environment, never on its command line.
    const { pid } = runnerPids(host)[created.runner_id as string];
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    expect(environ).toMatch(/OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN=[0-9a-f]{64}/);
    const token = /OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN=([0-9a-f]{64})/.exec(environ)?.[1];
    expect(cmdline).not.toContain(token);
    expect(environ).not.toContain(aliceToken);

    await replyTo(alice, created.id, 'hello from the host');
    await alice.say(
      created.id,
      '/tool write_file {"path":"made-by-runner.txt","content":"in the workspace"}',
    );
    await eventually(
      async () =>
        expect(readFileSync(join(workspace, 'made-by-runner.txt'), 'utf8')).toBe(
          'in the workspace',
        ),
      45_000,
      200,
    );
    const health = await alice.ok<{ session: Record<string, unknown> }>(
      'GET',
      `/health?session_id=${created.id}`,
    );
    expect(health.session).toMatchObject({
      runner_online: true,
      host_online: true,
      host_version: expect.stringMatching(/^\d+\.\d+/),
    });

    // Killed runner: reported (runner_failed_to_start, reason kept) and relaunched by the next message.
    process.kill(pid, 'SIGKILL');
    await eventually(async () => {
      const s = await snapshot(alice, created.id);
      expect(s.status).toBe('failed');
      expect(s.runner_online).toBe(false);
    }, 30_000);
    const status = await alice.ok<{ online: boolean; error?: string }>(
      'GET',
      `/v1/runners/${created.runner_id}/status`,
    );
    expect(status.online).toBe(false);
    expect(status.error).toMatch(/signal SIGKILL/);
    const after = await replyTo(alice, created.id, 'are you back');
    expect(after.runner_id).toMatch(/^runner_token_/);
    expect(after.runner_id).not.toBe(created.runner_id);
    expect(after.runner_online).toBe(true);
  });

  it('should launch with POST /v1/hosts/{id}/runners and answer the documented codes', async () => {
    const base = `/v1/hosts/${host.hostId}`;
    const session = await alice.createSession('echo');
    expect(session.runner_id).toBeNull();
    expectValid('LaunchRunnerRequest', { session_id: session.id, workspace });
    const launched = await alice.ok<{ runner_id: string; status: string }>(
      'POST',
      `${base}/runners`,
      { session_id: session.id, workspace },
    );
    expect(launched).toEqual({
      runner_id: expect.stringMatching(/^runner_token_[0-9a-f]{32}$/),
      status: 'launching',
    });
    const bound = await snapshot(alice, session.id);
    expect(bound).toMatchObject({
      runner_id: launched.runner_id,
      host_id: host.hostId,
      workspace,
    });
    // Already bound: 400 on this route.
    const twice = await alice.request('POST', `${base}/runners`, {
      session_id: session.id,
      workspace,
    });
    expect(twice.status).toBe(400);
    await replyTo(alice, session.id, 'launched by the route');

    // Workspace gone: 410, binding rolled back.
    const other = await alice.createSession('echo');
    const gone = await alice.request<{ code: string }>('POST', `${base}/runners`, {
      session_id: other.id,
      workspace: join(root, 'no-such-dir'),
    });
    expect(gone.status).toBe(410);
    expect(gone.body.code).toBe('workspace_missing');
    expect((await snapshot(alice, other.id)).runner_id).toBeNull();

    // Harness not configured on the host (openai without a key): 412, rolled back.
    const assistant = await alice.createSession('assistant');
    const refused = await alice.request<{ code: string }>('POST', `${base}/runners`, {
      session_id: assistant.id,
      workspace,
    });
    expect(refused.status).toBe(412);
    expect(refused.body.code).toBe('harness_not_configured');
    expect((await snapshot(alice, assistant.id)).runner_id).toBeNull();

    // A workspace that is not absolute: 400.
    const relative = await alice.request('POST', `${base}/runners`, {
      session_id: other.id,
      workspace: 'project',
    });
    expect(relative.status).toBe(400);
  });

  it('should not fail a create whose launch fails: the session comes back unbound with the failure', async () => {
    const created = await alice.ok<Snapshot & { status: string }>('POST', '/v1/sessions', {
      agent_id: await alice.agentId('assistant'),
      host_id: host.hostId,
      workspace,
    });
    expect(created.runner_id).toBeNull();
    expect(created.host_id).toBe(host.hostId);
    expect(created.status).toBe('failed');
    // retry_session surfaces the refusal as HTTP.
    const retry = await alice.request<{ code: string }>(
      'POST',
      `/v1/sessions/${created.id}/events`,
      {
        type: 'retry_session',
      },
    );
    expect(retry.status).toBe(412);
    // A session on a host needs a workspace there.
    const noWorkspace = await alice.request('POST', '/v1/sessions', {
      agent_id: echoAgent,
      host_id: host.hostId,
    });
    expect(noWorkspace.status).toBe(400);
  });

  it('should launch for a multipart create with host_id and workspace', async () => {
    const form = new FormData();
    form.append(
      'metadata',
      JSON.stringify({ title: 'from a bundle', host_id: host.hostId, workspace }),
    );
    form.append(
      'bundle',
      new Blob([new Uint8Array(await echoAgentBundle(`host-bundle-${Date.now()}`))]),
      'agent.tar.gz',
    );
    const res = await fetch(`${server.url}/v1/sessions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${aliceToken}`, Origin: 'omnigent://internal' },
      body: form,
    });
    expect(res.status).toBe(201);
    const { session_id } = (await res.json()) as { session_id: string };
    const s = await snapshot(alice, session_id);
    expect(s.runner_id).toMatch(/^runner_token_/);
    await replyTo(alice, session_id, 'bundle on a host');
  });

  it('should answer 504 when the host never answers, and roll the launch back', async () => {
    const hostId = `host_${'5e'.repeat(16)}`;
    const fake = await silentHost(server.url, hostId, aliceToken);
    const base = `/v1/hosts/${hostId}`;
    const started = Date.now();
    const browse = await alice.request<{ code: string }>('GET', `${base}/filesystem`);
    expect(browse.status).toBe(504);
    expect(browse.body.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(RPC_TIMEOUT_MS + 5_000);
    const session = await alice.createSession('echo');
    const launch = await alice.request<{ code: string }>('POST', `${base}/runners`, {
      session_id: session.id,
      workspace,
    });
    expect(launch.status).toBe(504);
    expect((await snapshot(alice, session.id)).runner_id).toBeNull();
    // The server also asked the host to stop whatever it may have started.
    await eventually(async () => expect(fake.requests).toContain('runner.stop'));

    // Newest connection wins: a second connection with the id evicts the first (4000).
    const newer = await silentHost(server.url, hostId, aliceToken);
    expect(await fake.closed).toBe(4000);
    newer.ws.close();
  });

  it('should reap the runners a killed daemon left behind when it starts again', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'omnigent-host-'));
    const daemon = await startHost(aliceToken, { stateDir });
    const created = await alice.ok<Snapshot>('POST', '/v1/sessions', {
      agent_id: echoAgent,
      host_id: daemon.hostId,
      workspace,
    });
    await daemon.waitForOutput(new RegExp(`launched runner ${created.runner_id}`));
    const { pid } = runnerPids(daemon)[created.runner_id as string];
    await daemon.kill();
    expect(existsSync(`/proc/${pid}`)).toBe(true);

    // Offline: 409 for browsing, launching and messages (after the channel closed).
    await eventually(async () => {
      const list = await alice.ok<{ hosts: { host_id: string; status: string }[] }>(
        'GET',
        '/v1/hosts',
      );
      expect(list.hosts.find((h) => h.host_id === daemon.hostId)?.status).toBe('offline');
    }, 20_000);
    expect((await alice.request('GET', `/v1/hosts/${daemon.hostId}/filesystem`)).status).toBe(409);
    const other = await alice.createSession('echo');
    expect(
      (
        await alice.request('POST', `/v1/hosts/${daemon.hostId}/runners`, {
          session_id: other.id,
          workspace,
        })
      ).status,
    ).toBe(409);

    // Same state dir: same host id, and the orphaned runner is stopped.
    const again = await startHost(aliceToken, { stateDir });
    expect(again.hostId).toBe(daemon.hostId);
    await again.waitForOutput(/reaped orphaned runner/);
    await eventually(async () => expect(existsSync(`/proc/${pid}`)).toBe(false), 10_000);
    // The session gets a new runner on the next message.
    await replyTo(alice, created.id, 'after the host restarted');
    await again.stop();
    // Kill the host while the session's runner is gone: the next message is 409.
    await eventually(async () => {
      const s = await snapshot(alice, created.id);
      expect(s.host_online).toBe(false);
    }, 20_000);
    const offline = await alice.say(created.id, 'anyone there');
    expect(offline.status).toBe(409);
  });
});
