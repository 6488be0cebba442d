import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import WebSocket from 'ws';

import { HOST_SUBPROTOCOL } from 'src/protocol/host-protocol';
import { HttpApi, httpApi } from 'test/utils/http-api';
import { startJwtServer } from 'test/utils/jwt-server';
import { ManagedProcess, ServerProcess, spawnCli } from 'test/utils/processes';

const SECRET = 'hosts-e2e-secret-0123456789abcdef0123';
/** The server's host RPC timeout in the hosts suites (OMNIGENT_HOST_RPC_TIMEOUT_MS). */
export const RPC_TIMEOUT_MS = 1_000;
const LAUNCH_TIMEOUT_MS = 1_500;

export interface HostDaemon extends ManagedProcess {
  hostId: string;
  stateDir: string;
}

/**
 * What a hosts suite shares (jwt mode, one server): alice's daemon `host` serving `root` (with
 * `a.txt`, `b.txt` and the directory `workspace`), and bob, who owns no host. Filled in by the
 * suite's beforeAll.
 */
export interface HostSuite {
  server: ServerProcess;
  alice: HttpApi;
  bob: HttpApi;
  aliceToken: string;
  bobToken: string;
  root: string;
  workspace: string;
  host: HostDaemon;
  echoAgent: string;
  /** Starts another `omnigent host` daemon of the token's user; stopped after the suite. */
  startHost(
    token: string,
    options?: { stateDir?: string; env?: Record<string, string> },
  ): Promise<HostDaemon>;
}

export const hostChannel = (url: string, hostId: string) =>
  `${url.replace('http', 'ws')}/v1/hosts/${hostId}/channel`;
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * A fake host: says host.hello, then never answers anything (the 504 cases). Resolves once
 * registered, with the socket and the server's requests as they arrive.
 */
export async function silentHost(
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

/** The runners a daemon launched, from its state file. */
export function runnerPids(daemon: HostDaemon): Record<string, { pid: number }> {
  const file = join(daemon.stateDir, 'runners.json');
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { runners: Record<string, { pid: number }> })
        .runners
    : {};
}

/**
 * Registers the beforeAll and afterAll of a hosts suite in the calling describe and returns its
 * HostSuite, filled in once beforeAll has run. Every daemon and its runners stop after the suite.
 */
export function useHostSuite(): HostSuite {
  let server: ServerProcess;
  let root: string;
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
  const suite = { startHost } as HostSuite;

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'omnigent-host-root-')));
    const workspace = join(root, 'project');
    mkdirSync(workspace);
    writeFileSync(join(root, 'a.txt'), 'a');
    writeFileSync(join(root, 'b.txt'), 'bb');
    const jwt = await startJwtServer(SECRET, {
      OMNIGENT_RUNNER_HEARTBEAT_MS: '1000',
      OMNIGENT_RUNNER_LIVENESS_TTL_MS: '4000',
      OMNIGENT_HOST_RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
      OMNIGENT_HOST_LAUNCH_TIMEOUT_MS: String(LAUNCH_TIMEOUT_MS),
    });
    server = jwt.server;
    const aliceToken = jwt.newUserToken('alice');
    const bobToken = jwt.newUserToken('bob');
    const alice = httpApi(server.url, aliceToken);
    const bob = httpApi(server.url, bobToken);
    const echoAgent = await alice.agentId('echo');
    const host = await startHost(aliceToken);
    Object.assign(suite, {
      server,
      alice,
      bob,
      aliceToken,
      bobToken,
      root,
      workspace,
      host,
      echoAgent,
    });
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
  return suite;
}
