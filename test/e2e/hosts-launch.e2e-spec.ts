import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expectValid } from 'test/contract/upstream-schemas';
import { echoAgentBundle } from 'test/utils/agent-bundle';
import {
  HostDaemon,
  RPC_TIMEOUT_MS,
  runnerPids,
  silentHost,
  useHostSuite,
} from 'test/utils/host-suite';
import { eventually, HttpApi } from 'test/utils/http-api';
import { ServerProcess } from 'test/utils/processes';

// Each test starts runner processes (and some a daemon) on a machine shared with other test runs.
jest.setTimeout(180_000);

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

/**
 * Runners launched on a host (jwt mode, real server, host daemon and runner processes): with a
 * create that names host_id, with POST /v1/hosts/{id}/runners, and what a failed or unanswered
 * launch and a killed daemon leave behind.
 */
describe('host runner launches (jwt mode, real server, host daemon and runner processes)', () => {
  const suite = useHostSuite();
  let server: ServerProcess;
  let alice: HttpApi;
  let aliceToken: string;
  let root: string;
  let workspace: string;
  let host: HostDaemon;
  let echoAgent: string;
  const { startHost } = suite;

  beforeAll(() => {
    ({ server, alice, aliceToken, root, workspace, host, echoAgent } = suite);
  });

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
