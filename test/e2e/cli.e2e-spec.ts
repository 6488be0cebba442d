import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

import { verify } from 'jsonwebtoken';

import { mintToken } from 'src/common/auth/token-signer';
import { getConfig } from 'src/config/app-config';
import { runnerChannelUrl, upgradeStatus } from 'test/utils/channel-upgrade';
import { httpApi } from 'test/utils/http-api';
import {
  ServerProcess,
  spawnCli,
  spawnCliInTerminal,
  startRunner,
  startServer,
} from 'test/utils/processes';
import { openSse } from 'test/utils/sse-client';

const SECRET = 'cli-e2e-secret-0123456789abcdef0123456789';

describe('omnigent CLI', () => {
  it('should print help, and refuse unknown commands and bad options', async () => {
    const help = spawnCli(['--help']);
    expect(await help.exited).toBe(0);
    for (const command of ['serve', 'runner', 'chat', 'token', 'migrate']) {
      expect(help.output()).toContain(command);
    }
    const unknown = spawnCli(['frobnicate']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toContain("omnigent: unknown command 'frobnicate'");
    const badOption = spawnCli(['token', '--nope']);
    expect(await badOption.exited).toBe(2);
    expect(badOption.output()).toBe(
      "omnigent token: unknown option '--nope'\nRun `omnigent token --help` for usage.\n",
    );
    const version = spawnCli(['--version']);
    expect(await version.exited).toBe(0);
    expect(version.output().trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('should list the flags and the environment variables in per-command help', async () => {
    const chat = spawnCli(['chat', '--help']);
    expect(await chat.exited).toBe(0);
    for (const text of [
      '--server',
      'OMNIGENT_SERVER_URL',
      '--token',
      'OMNIGENT_TOKEN',
      '--agent',
    ]) {
      expect(chat.output()).toContain(text);
    }
    const runner = spawnCli(['runner', '--help']);
    expect(await runner.exited).toBe(0);
    for (const text of ['OMNIGENT_RUNNER_SESSION_IDLE_MS', 'OMNIGENT_RUNNER_PROTECTED_PATHS']) {
      expect(runner.output()).toContain(text);
    }
    const token = spawnCli(['token', '--help']);
    expect(await token.exited).toBe(0);
    expect(token.output()).toContain('OMNIGENT_JWT_SECRET');
  });

  it('should answer every bad flag value with one line and exit 2, never a stack trace', async () => {
    const cases: [string[], string][] = [
      [['token', '--sub', 'alice', '--ttl', '5'], '--ttl 5: add a unit: 5s, 5m, 5h or 5d'],
      [['token', '--sub', 'alice', '--ttl', 'forever'], "--ttl 'forever' is not a duration"],
      [['token', '--sub', 'alice', '--ttl'], "option '--ttl <duration>' argument missing"],
      [['runner', '--session-idle-ms', 'abc'], '--session-idle-ms must be an integer'],
      [['runner', '--server', 'localhost:6767'], "invalid URL 'localhost:6767'"],
      [['chat', '--server', 'localhost:6767', 'hi'], "invalid URL 'localhost:6767'"],
    ];
    for (const [args, message] of cases) {
      const cli = spawnCli(args, { OMNIGENT_JWT_SECRET: SECRET });
      expect(await cli.exited).toBe(2);
      expect(cli.output()).toContain(message);
      expect(cli.output()).not.toMatch(/\n\s+at /);
      expect(cli.output().trim().split('\n')).toHaveLength(2); // the error, then the --help hint
    }
  });

  it('should say how to reach the server when nothing listens there (exit 3)', async () => {
    // A port that was free a moment ago: nothing listens there (ports like 9 are refused by fetch).
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const chat = spawnCli(['chat', '--server', `http://127.0.0.1:${port}`, 'hi']);
    expect(await chat.exited).toBe(3);
    expect(chat.output()).toContain('ECONNREFUSED');
    expect(chat.output()).toContain('--server (or OMNIGENT_SERVER_URL)');
    expect(chat.output()).not.toMatch(/\n\s+at /);
  });

  it('should mint a token with `omnigent token`, and explain when it cannot', async () => {
    const cli = spawnCli(['token', '--sub', 'alice', '--admin', '--ttl', '2h'], {
      OMNIGENT_JWT_SECRET: SECRET,
    });
    expect(await cli.exited).toBe(0);
    const claims = verify(cli.output().trim(), SECRET) as {
      sub: string;
      exp: number;
      iat: number;
      roles: string[];
    };
    expect(claims.sub).toBe('alice');
    expect(claims.roles).toEqual(['admin']);
    expect(claims.exp - claims.iat).toBe(7200);
    const noSecret = spawnCli(['token', '--sub', 'alice'], { OMNIGENT_JWT_SECRET: '' });
    expect(await noSecret.exited).toBe(1);
    expect(noSecret.output()).toMatch(/^omnigent token: OMNIGENT_JWT_SECRET is not set[^\n]*\n$/);
    const halfHour = spawnCli(['token', '--sub', 'alice', '--ttl', '30m'], {
      OMNIGENT_JWT_SECRET: SECRET,
    });
    expect(await halfHour.exited).toBe(0);
    const short = verify(halfHour.output().trim(), SECRET) as { exp: number; iat: number };
    expect(short.exp - short.iat).toBe(1800);
    const reserved = spawnCli(['token', '--sub', 'local'], { OMNIGENT_JWT_SECRET: SECRET });
    expect(await reserved.exited).toBe(2);
  });

  it('should refuse to start with a bad configuration, listing every problem', async () => {
    const server = spawnCli(['serve'], { OMNIGENT_PORT: 'abc', OMNIGENT_AUTH: 'basic' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('OMNIGENT_PORT');
    expect(server.output()).toContain('OMNIGENT_AUTH');
  });

  it('should refuse to listen on a non-loopback address without auth', async () => {
    const server = spawnCli(['serve'], { OMNIGENT_HOST: '0.0.0.0', OMNIGENT_LOCAL_RUNNER: '0' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('Refusing to listen on 0.0.0.0 without authentication');
  });
});

describe('the embedded default: `omnigent serve` with its local runner, and `omnigent chat`', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({
      OMNIGENT_LOCAL_RUNNER: 'auto',
    });
    await server.waitForOutput(/\[LocalRunner\].*Runner (runner_token_\w+) connected/);
  }, 60_000);
  afterAll(() => server?.stop());

  it('should answer a one-shot chat with the streamed reply and say how to resume', async () => {
    const chat = spawnCli([
      'chat',
      '--server',
      server.url,
      '--agent',
      'echo',
      'hello from the terminal',
    ]);
    expect(await chat.exited).toBe(0);
    expect(chat.output()).toContain('hello from the terminal');
    const resume = chat.output().match(/omnigent chat --session (conv_[0-9a-f]{32})/);
    expect(resume).not.toBeNull();
    const snapshot = await httpApi(server.url).ok<{
      items: { data: { role: string } }[];
      runner_id: string;
    }>('GET', `/v1/sessions/${resume?.[1]}`);
    expect(snapshot.runner_id).toMatch(/^runner_token_/);
    expect(snapshot.items.map((i) => i.data.role)).toEqual(['user', 'assistant']);

    const again = spawnCli([
      'chat',
      '--server',
      server.url,
      '--session',
      resume?.[1] as string,
      '/tool list_dir {}',
    ]);
    expect(await again.exited).toBe(0);
    expect(again.output()).toContain('⚙ list_dir({})');
    expect(again.output()).toContain('Tool list_dir returned:');
  });

  it('should show a policy ASK at the prompt and run the tool when answered y', async () => {
    const api = httpApi(server.url);
    const session = await api.createSession('echo');
    await api.ok('POST', `/v1/sessions/${session.id}/policies`, {
      name: 'ask_os',
      type: 'python',
      handler: 'omnigent.policies.builtins.safety.ask_on_os_tools',
    });
    const chat = spawnCli(['chat', '--server', server.url, '--session', session.id]);
    await chat.waitForOutput(/Chatting with echo in session conv_/);
    chat.proc.stdin?.write('/tool shell {"command": "echo ran-$((6*7))"}\n');
    await chat.waitForOutput(/approval needed \(policy ask_os\)[\s\S]*allow\? \[y\/N\]/);
    expect(chat.output()).not.toContain('ran-42');
    chat.proc.stdin?.write('y\n');
    await chat.waitForOutput(/ran-42/);
    expect(chat.output()).toContain('allowed');
    chat.proc.stdin?.end();
    expect(await chat.exited).toBe(0);
  });

  it('should run a prompt loop until stdin ends', async () => {
    const chat = spawnCli(['chat', '--server', server.url]);
    await chat.waitForOutput(/Chatting with echo in session conv_/);
    chat.proc.stdin?.write('first line\n');
    await chat.waitForOutput(/first line/);
    chat.proc.stdin?.write('second line\n');
    await chat.waitForOutput(/second line/);
    chat.proc.stdin?.end();
    expect(await chat.exited).toBe(0);
  });

  it('should end open streams with [DONE] and exit promptly on SIGTERM', async () => {
    const other = await startServer({
      OMNIGENT_LOCAL_RUNNER: 'auto',
    });
    await other.waitForOutput(/\[LocalRunner\].*Runner (runner_token_\w+) connected/);
    const { id } = await httpApi(other.url).createSession('echo');
    const stream = await openSse(other.url, `/v1/sessions/${id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    const started = Date.now();
    other.proc.kill('SIGTERM');
    await stream.ended;
    await other.exited;
    expect(Date.now() - started).toBeLessThan(8000);
    expect(stream.frames.at(-1)?.data).toBe('[DONE]');
    // A graceful stop after SIGTERM (drain, close) exits 0 (README "Operations").
    expect(other.proc.exitCode).toBe(0);
  });

  it('should exit non-zero and explain when the turn fails', async () => {
    const chat = spawnCli(['chat', '--server', server.url, '/fail nope']);
    expect(await chat.exited).toBe(1);
    expect(chat.output()).toContain('echo_failure: nope');
  });

  it('should list the real agents when the agent is unknown (exit 2)', async () => {
    const chat = spawnCli(['chat', '--server', server.url, '--agent', 'nope', 'hi']);
    expect(await chat.exited).toBe(2);
    expect(chat.output()).toContain("No agent named 'nope'. Available agents:");
    expect(chat.output()).toContain('echo');
  });

  it('should show the right reply after a failed turn, and exit 0 on Ctrl-D (in a terminal)', async () => {
    const chat = spawnCliInTerminal(['chat', '--server', server.url]);
    await chat.waitForOutput(/Chatting with echo in session (conv_\w+)/);
    await chat.waitForOutput(/> /);
    chat.proc.stdin?.write('/fail boom\r');
    await chat.waitForOutput(/✗ echo_failure: boom/);
    chat.proc.stdin?.write('after the failure\r');
    await chat.waitForOutput(/\r?\nafter the failure\r?\n/);
    chat.proc.stdin?.write('\x04');
    expect(await chat.exited).toBe(0);
    // The old bug: the second turn printed the first one's error again.
    expect(chat.output().match(/echo_failure: boom/g)).toHaveLength(1);
  });

  it('should interrupt a reply on Ctrl-C, and quit with 130 on Ctrl-C at the prompt', async () => {
    const chat = spawnCliInTerminal(['chat', '--server', server.url]);
    await chat.waitForOutput(/> /);
    chat.proc.stdin?.write('/sleep 5000\r');
    await chat.waitForOutput(/Slep/);
    chat.proc.stdin?.write('\x03');
    await chat.waitForOutput(/\(stopped: user_interrupt\)/);
    chat.proc.stdin?.write('\x03');
    expect(await chat.exited).toBe(130);
  });

  it('should ask which runner before creating a session, leaving no orphan', async () => {
    const api = httpApi(server.url);
    const count = async () =>
      (await api.ok<{ data: unknown[] }>('GET', '/v1/sessions?limit=1000')).data.length;
    const before = await count();
    const second = await startRunner(server.url);
    try {
      const chat = spawnCli(['chat', '--server', server.url, 'hi']);
      expect(await chat.exited).toBe(2);
      expect(chat.output()).toContain('Several runners are connected; pick one with --runner');
      expect(chat.output()).toContain(second.runnerId);
      expect(await count()).toBe(before);
      const picked = spawnCli(['chat', '--server', server.url, '--runner', second.runnerId, 'hi']);
      expect(await picked.exited).toBe(0);
      expect(await count()).toBe(before + 1);
    } finally {
      await second.stop();
    }
  });
});

describe('the local runner in jwt mode and the binding-token exchange', () => {
  let server: ServerProcess;
  const owner = `carol-${Math.random().toString(16).slice(2, 8)}`;

  beforeAll(async () => {
    server = await startServer({
      OMNIGENT_AUTH: 'jwt',
      OMNIGENT_JWT_SECRET: SECRET,
      OMNIGENT_LOCAL_RUNNER: '1',
      OMNIGENT_LOCAL_RUNNER_USER: owner,
    });
    await server.waitForOutput(/\[LocalRunner\].*Runner (runner_token_\w+) connected/);
  }, 60_000);
  afterAll(() => server?.stop());

  it('should connect the local runner as its configured owner and trade its binding token for a bearer', async () => {
    const auth = getConfig({ OMNIGENT_AUTH: 'jwt', OMNIGENT_JWT_SECRET: SECRET }).auth;
    const api = httpApi(server.url, mintToken(auth, { sub: owner, ttlSeconds: 600 }).token);
    const runners = await api.ok<{ data: { runner_id: string }[] }>('GET', '/v1/runners');
    expect(runners.data).toHaveLength(1);
    const runnerId = runners.data[0].runner_id;
    const bindingToken = readFileSync(join(server.dataDir, 'local-runner.token'), 'utf8').trim();

    const post = (id: string, token?: string) =>
      fetch(`${server.url}/v1/runners/${id}/token`, {
        method: 'POST',
        headers: token ? { 'X-Omnigent-Runner-Tunnel-Token': token } : {},
      });
    expect((await post(runnerId)).status).toBe(401);
    expect((await post(runnerId, 'y'.repeat(64))).status).toBe(401);
    const minted = await post(runnerId, bindingToken);
    expect(minted.status).toBe(200);
    const body = (await minted.json()) as { token: string; expires_at: number };
    const claims = verify(body.token, SECRET) as {
      sub: string;
      typ: string;
      runner_id: string;
      exp: number;
    };
    expect(claims).toMatchObject({ sub: owner, typ: 'runner', runner_id: runnerId });
    expect(body.expires_at).toBe(claims.exp);
    expect(claims.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(1800);

    // The runner bearer is refused on user routes…
    const asUser = await fetch(`${server.url}/v1/me`, {
      headers: { Authorization: `Bearer ${body.token}` },
    });
    expect(asUser.status).toBe(403);
    // …and accepted on its own runner channel.
    const opened = await upgradeStatus(runnerChannelUrl(server.url, runnerId), undefined, {
      Authorization: `Bearer ${body.token}`,
    });
    expect(opened).toBe(101);
  });
});
