import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

import { HOST_SUBPROTOCOL } from 'src/protocol/host-protocol';
import { expectValid } from 'test/contract/upstream-schemas';
import { upgradeStatus } from 'test/utils/channel-upgrade';
import { bearer, hostChannel, HostDaemon, useHostSuite } from 'test/utils/host-suite';
import { HttpApi } from 'test/utils/http-api';
import { ServerProcess } from 'test/utils/processes';

// Each test starts runner processes (and some a daemon) on a machine shared with other test runs.
jest.setTimeout(180_000);

describe('hosts (jwt mode, real server, host daemon and runner processes)', () => {
  const suite = useHostSuite();
  let server: ServerProcess;
  let alice: HttpApi;
  let bob: HttpApi;
  let aliceToken: string;
  let bobToken: string;
  let root: string;
  let workspace: string;
  let host: HostDaemon;
  let echoAgent: string;

  beforeAll(() => {
    ({ server, alice, bob, aliceToken, bobToken, root, workspace, host, echoAgent } = suite);
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
});
