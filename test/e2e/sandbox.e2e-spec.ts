import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { mintToken } from 'src/common/auth/token-signer';
import { getConfig } from 'src/config/app-config';
import { bundleOf } from 'test/utils/agent-bundle';
import { runEchoTool } from 'test/utils/agent-sessions';
import { HttpApi, httpApi } from 'test/utils/http-api';
import { ServerProcess, startServer } from 'test/utils/processes';

const JWT_SECRET = `jwt-secret-${randomBytes(16).toString('hex')}`;
const MODEL_KEY = `sk-server-${randomBytes(8).toString('hex')}`;
const MARKER = `data-dir-marker-${randomBytes(8).toString('hex')}`;

/** Host pids whose parent is `parent` and whose command line contains `needle`. */
function childPids(parent: number, needle: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === parent && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * The red team's attack on a jwt-mode server with the local runner on (issue 16, finding 1): a
 * user's `shell` read OMNIGENT_JWT_SECRET from the server's /proc/<pid>/environ, the runner's
 * binding token from its parent and the embedded database from the data directory. Real server
 * and runner processes; every tool call goes through the echo agent's `/tool` directive.
 */
describe('tool sandbox: the local runner in jwt mode', () => {
  let server: ServerProcess;
  let api: HttpApi;
  let bindingToken: string;
  let databaseUrl: string;
  let userToken: string;
  const owner = `mallory-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    databaseUrl = process.env.OMNIGENT_TEST_DATABASE_URL as string;
    server = await startServer({
      DATABASE_URL: databaseUrl,
      OMNIGENT_DB_MIGRATE: 'false',
      OMNIGENT_AUTH: 'jwt',
      OMNIGENT_JWT_SECRET: JWT_SECRET,
      OMNIGENT_LOCAL_RUNNER: '1',
      OMNIGENT_LOCAL_RUNNER_USER: owner,
      OPENAI_API_KEY: MODEL_KEY,
    });
    await server.waitForOutput(/\[LocalRunner\].*Runner (runner_token_\w+) connected/);
    writeFileSync(join(server.dataDir, 'marker.txt'), MARKER);
    bindingToken = readFileSync(join(server.dataDir, 'local-runner.token'), 'utf8').trim();
    const auth = getConfig({ OMNIGENT_AUTH: 'jwt', OMNIGENT_JWT_SECRET: JWT_SECRET }).auth;
    userToken = mintToken(auth, { sub: owner, ttlSeconds: 600 }).token;
    api = httpApi(server.url, userToken);
  }, 60_000);

  afterAll(() => server?.stop());

  /** Runs one tool call through the echo agent and returns what the tool answered. */
  const runTool = (sessionId: string, name: string, args: Record<string, unknown>) =>
    runEchoTool(api, sessionId, name, args);

  async function session(agent = 'echo', extra: Record<string, unknown> = {}): Promise<string> {
    const created = await api.createSession(agent, extra);
    // The owner's only runner online binds new sessions automatically.
    expect(created.runner_id).toMatch(/^runner_token_/);
    return created.id;
  }

  const secrets = () => [JWT_SECRET, bindingToken, MODEL_KEY, databaseUrl, MARKER];

  it('should say at start-up that the local runner requires and has the sandbox', () => {
    expect(server.output()).toMatch(/\[LocalRunner\].*sandbox: bubblewrap .*\(required\)/);
  });

  it('should start the local runner without the server secrets in its environment', () => {
    const [runnerPid] = childPids(server.proc.pid as number, 'runner');
    expect(runnerPid).toBeDefined();
    const environ = readFileSync(`/proc/${runnerPid}/environ`, 'utf8');

    expect(environ).not.toContain(JWT_SECRET);
    expect(environ).not.toContain(databaseUrl);
    expect(environ).not.toContain('OMNIGENT_JWT_SECRET');
    // What it needs it still gets: the model key (for `${OPENAI_API_KEY}`) and its own token.
    expect(environ).toContain(MODEL_KEY);
    expect(environ).toContain(bindingToken);
  });

  it("should not let shell read any process's environment, the data directory or the runner's token", async () => {
    const sessionId = await session();
    const serverPid = server.proc.pid as number;
    const output = await runTool(sessionId, 'shell', {
      command:
        `cat /proc/${serverPid}/environ; ` +
        'for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do cat "$f"; echo; done; ' +
        `ls -la ${server.dataDir}; cat ${server.dataDir}/local-runner.token ${server.dataDir}/marker.txt; ` +
        'env; ls /proc',
    });

    for (const secret of secrets()) {
      expect(output).not.toContain(secret);
    }
    expect(output).toContain(`/proc/${serverPid}/environ: No such file or directory`);
    expect(output).toContain(`${server.dataDir}/local-runner.token: No such file or directory`);
    expect(output).toContain(`${server.dataDir}/marker.txt: No such file or directory`);
    expect(output).not.toContain('OMNIGENT_');
  });

  it('should refuse a symlink planted by shell that points outside, in every file tool', async () => {
    const sessionId = await session();
    const planted = await runTool(sessionId, 'shell', {
      command:
        `ln -s ${server.dataDir}/local-runner.token token && ln -s ${server.dataDir} data && ` +
        `ln -s /proc/${server.proc.pid}/environ environ && ln -s / root && echo planted`,
    });
    expect(planted).toContain('planted');

    const outputs = [
      await runTool(sessionId, 'read_file', { path: 'token' }),
      await runTool(sessionId, 'read_file', { path: 'environ' }),
      await runTool(sessionId, 'read_file', { path: 'data/marker.txt' }),
      await runTool(sessionId, 'list_dir', { path: 'data' }),
      await runTool(sessionId, 'list_dir', { path: 'root' }),
      await runTool(sessionId, 'write_file', { path: 'data/evil.txt', content: 'x' }),
      await runTool(sessionId, 'edit_file', { path: 'token', old_text: 'a', new_text: 'b' }),
    ];

    for (const output of outputs) {
      expect(output).toMatch(
        /^Error: Path '.*' resolves outside the workspace through a symbolic link$/,
      );
      for (const secret of secrets()) {
        expect(output).not.toContain(secret);
      }
    }
    expect(readdirSync(server.dataDir)).not.toContain('evil.txt');
  });

  it("should refuse a session's absolute workspace that would expose the data directory or the system", async () => {
    for (const workspace of [server.dataDir, '/', '/etc']) {
      const sessionId = await session('echo', { workspace });
      const output = await runTool(sessionId, 'list_dir', {});

      expect(output).toMatch(
        /^Error: the session workspace '.*' (would expose|is the root|is inside the system)/,
      );
      expect(output).toMatch(/; the tool was not run$/);
      expect(output).not.toContain('local-runner.token');
    }
  });

  it('should give tools no network when the agent turns it off', async () => {
    const port = new URL(server.url).port;
    const connect =
      `node -e "require('net').connect(${port}, '127.0.0.1')` +
      `.on('connect', () => { console.log('CONNECTED'); process.exit(0) })` +
      `.on('error', (e) => console.log('FAILED', e.code))"`;
    const name = `offline-${randomBytes(4).toString('hex')}`;
    const bundle = await bundleOf([
      {
        name: 'config.yaml',
        content: [
          `name: ${name}`,
          'executor: { harness: echo }',
          'os_env: { type: caller_process, sandbox: { type: linux_bwrap, allow_network: false } }',
          'tools: [shell]',
          '',
        ].join('\n'),
      },
    ]);
    const form = new FormData();
    form.set('metadata', JSON.stringify({ title: 'offline' }));
    form.set('bundle', new Blob([bundle], { type: 'application/gzip' }), 'agent.tar.gz');
    const created = await fetch(`${server.url}/v1/sessions`, {
      method: 'POST',
      body: form,
      headers: { Authorization: `Bearer ${userToken}` },
    });
    expect(created.status).toBe(201);
    const { session_id: offline } = (await created.json()) as { session_id: string };

    await expect(runTool(await session(), 'shell', { command: connect })).resolves.toContain(
      'CONNECTED',
    );
    const output = await runTool(offline, 'shell', { command: connect });
    expect(output).toContain('FAILED ECONNREFUSED');
    expect(output).not.toContain('CONNECTED');
  });
});
