import { randomBytes } from 'node:crypto';
import { delimiter, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { CliCommand, UsageError } from 'src/cli/cli-command';
import { defaultRunnerWorkspace, defaultServerUrl, defaultToken } from 'src/cli/cli-env';
import { isRunnerId } from 'src/common/ids/ids';
import { packageVersion } from 'src/config/app-config';
import { runnerIdForBindingToken } from 'src/protocol/runner-protocol';
import { Runner } from 'src/runner/runner';
import { describeSupport } from 'src/runner/sandbox/sandbox-policy';
import { sandboxSupport } from 'src/runner/sandbox/sandbox-probe';

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} [runner] ${message}\n`);
}

/** Idle sessions are released after this long by default (--session-idle-ms). */
const DEFAULT_SESSION_IDLE_MS = 60_000;
// Below this, a session could be released between its session.init and the turn.start behind it.
const MIN_SESSION_IDLE_MS = 1_000;

export const runnerCommand: CliCommand = {
  name: 'runner',
  summary: 'Run agent turns for sessions, connected to a server',
  usage:
    'omnigent runner --server URL [--token T | --binding-token B] [--runner-id ID] [--workspace DIR]\n' +
    '                [--require-sandbox] [--protected-path DIR]... [--session-idle-ms MS]\n\n' +
    '  --server         server base URL (default $OMNIGENT_SERVER_URL or http://127.0.0.1:6767)\n' +
    '  --token          bearer token (default $OMNIGENT_TOKEN); not needed against a local server\n' +
    '  --binding-token  binding token of a launched runner (the runner id derives from it)\n' +
    '  --runner-id      runner_<32 hex> to reuse (default: a new id)\n' +
    '  --workspace      root of the session workspaces (default ~/.omnigent/workspaces)\n' +
    '  --require-sandbox  refuse to start without a working tool sandbox (bubblewrap), and\n' +
    '                   sandbox agents that say `sandbox: none` too (env OMNIGENT_RUNNER_REQUIRE_SANDBOX=1)\n' +
    '  --protected-path   a directory tools must never see or use as a workspace; repeatable\n' +
    '                   (env OMNIGENT_RUNNER_PROTECTED_PATHS, separated by ":")\n' +
    '  --session-idle-ms  forget a session idle this long; the server re-initialises it on its\n' +
    `                   next turn (default ${DEFAULT_SESSION_IDLE_MS}, env OMNIGENT_RUNNER_SESSION_IDLE_MS)`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        'binding-token': { type: 'string' },
        'runner-id': { type: 'string' },
        workspace: { type: 'string' },
        'require-sandbox': { type: 'boolean' },
        'protected-path': { type: 'string', multiple: true },
        'session-idle-ms': { type: 'string' },
      },
    });
    const bindingToken =
      values['binding-token'] ?? process.env.OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN;
    const token = values.token ?? defaultToken();
    if (bindingToken && values.token) {
      throw new UsageError('use either --token or --binding-token, not both');
    }
    let runnerId = values['runner-id'] ?? process.env.OMNIGENT_RUNNER_ID;
    if (bindingToken) {
      const derived = runnerIdForBindingToken(bindingToken);
      if (runnerId && runnerId !== derived) {
        throw new UsageError(`--runner-id does not match the binding token (expected ${derived})`);
      }
      runnerId = derived;
    }
    runnerId ??= `runner_${randomBytes(16).toString('hex')}`;
    if (!isRunnerId(runnerId)) {
      throw new UsageError('--runner-id must be runner_<32 hex characters>');
    }
    const server = values.server ?? defaultServerUrl();
    try {
      new URL(server);
    } catch {
      throw new UsageError(`--server '${server}' is not a URL`);
    }
    const workspaceRoot = resolve(
      values.workspace ?? process.env.OMNIGENT_RUNNER_WORKSPACE ?? defaultRunnerWorkspace(),
    );
    const requireSandbox =
      values['require-sandbox'] === true || process.env.OMNIGENT_RUNNER_REQUIRE_SANDBOX === '1';
    const protectedPaths = [
      ...(values['protected-path'] ?? []),
      ...(process.env.OMNIGENT_RUNNER_PROTECTED_PATHS ?? '').split(delimiter),
    ]
      .filter(Boolean)
      .map((dir) => resolve(dir));
    const idleText = values['session-idle-ms'] ?? process.env.OMNIGENT_RUNNER_SESSION_IDLE_MS ?? '';
    const sessionIdleMs = idleText === '' ? DEFAULT_SESSION_IDLE_MS : Number(idleText);
    if (!Number.isInteger(sessionIdleMs) || sessionIdleMs < MIN_SESSION_IDLE_MS) {
      throw new UsageError(`--session-idle-ms must be an integer ≥ ${MIN_SESSION_IDLE_MS}`);
    }
    const debug = ['debug', 'verbose'].includes(process.env.OMNIGENT_LOG_LEVEL ?? '')
      ? log
      : undefined;
    const support = sandboxSupport(process.env.PATH);
    log(describeSupport(support, requireSandbox));
    if (requireSandbox && !support.available) {
      return 1;
    }
    let announced = false;
    const runner = new Runner({
      serverUrl: server,
      runnerId,
      token: bindingToken ? undefined : token,
      bindingToken,
      workspaceRoot,
      env: process.env,
      sandbox: { support, required: requireSandbox, protectedPaths },
      sessionIdleMs,
      version: packageVersion(),
      log,
      debug,
      onConnected: () => {
        if (!announced) {
          announced = true;
          process.stdout.write(
            `Runner ${runnerId} connected to ${server} (workspaces in ${workspaceRoot})\n`,
          );
        } else {
          log('reconnected');
        }
      },
      onFatal: () => {
        process.exitCode = 1;
      },
    });
    process.stdout.write(`Runner id: ${runnerId}\n`);
    runner.start();
    const shutdown = (signal: string) => {
      log(`${signal}: stopping`);
      runner.stop();
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  },
};
