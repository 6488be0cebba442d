import { randomBytes } from 'node:crypto';
import { delimiter, resolve } from 'node:path';

import { Command, Option } from 'commander';

import { CliError, ExitCode, load, UsageError } from 'src/cli/cli-command';
import {
  checkServerUrl,
  defaultRunnerWorkspace,
  defaultServerUrl,
  serverOption,
  tokenOption,
} from 'src/cli/cli-env';

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} [runner] ${message}\n`);
}

/** Idle sessions are released after this long by default (--session-idle-ms). */
const DEFAULT_SESSION_IDLE_MS = 60_000;
// Below this, a session could be released between its session.init and the turn.start behind it.
const MIN_SESSION_IDLE_MS = 1_000;

interface RunnerOptions {
  server?: string;
  token?: string;
  bindingToken?: string;
  runnerId?: string;
  workspace?: string;
  requireSandbox?: boolean;
  protectedPath?: string[];
  sessionIdleMs?: string;
}

export function runnerCommand(): Command {
  return new Command('runner')
    .summary('Run agent turns for sessions, connected to a server')
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(
      new Option(
        '--binding-token <token>',
        'binding token of a launched runner (the runner id derives from it)',
      ).env('OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN'),
    )
    .addOption(
      new Option('--runner-id <id>', 'runner_<32 hex> to reuse (default: a new id)').env(
        'OMNIGENT_RUNNER_ID',
      ),
    )
    .addOption(
      new Option(
        '--workspace <dir>',
        'root of the session workspaces (default $OMNIGENT_DATA_DIR/workspaces, ~/.omnigent/workspaces)',
      ).env('OMNIGENT_RUNNER_WORKSPACE'),
    )
    .option(
      '--require-sandbox',
      'refuse to start without a working tool sandbox (bubblewrap), and sandbox agents that say ' +
        '`sandbox: none` too (env: OMNIGENT_RUNNER_REQUIRE_SANDBOX=1)',
    )
    .option(
      '--protected-path <dir>',
      'a directory tools must never see or use as a workspace; repeatable ' +
        '(env: OMNIGENT_RUNNER_PROTECTED_PATHS, separated by ":", added to the flags)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .addOption(
      new Option(
        '--session-idle-ms <ms>',
        'forget a session idle this long; the server re-initialises it on its next turn ' +
          `(default ${DEFAULT_SESSION_IDLE_MS})`,
      ).env('OMNIGENT_RUNNER_SESSION_IDLE_MS'),
    )
    .action(async (values: RunnerOptions, command: Command) => {
      await runRunner(values, command);
    });
}

async function runRunner(values: RunnerOptions, command: Command): Promise<void> {
  const { isRunnerId } = load<typeof import('src/common/ids/ids')>('src/common/ids/ids');
  const { packageVersion } = load<typeof import('src/config/app-config')>('src/config/app-config');
  const { runnerIdForBindingToken } = load<typeof import('src/protocol/runner-protocol')>(
    'src/protocol/runner-protocol',
  );
  const { Runner } = load<typeof import('src/runner/runner')>('src/runner/runner');
  const { describeSupport } = load<typeof import('src/runner/sandbox/sandbox-policy')>(
    'src/runner/sandbox/sandbox-policy',
  );
  const { sandboxSupport } = load<typeof import('src/runner/sandbox/sandbox-probe')>(
    'src/runner/sandbox/sandbox-probe',
  );
  const bindingToken = values.bindingToken || undefined;
  const token = values.token || undefined;
  if (bindingToken && command.getOptionValueSource('token') === 'cli') {
    throw new UsageError('use either --token or --binding-token, not both');
  }
  let runnerId = values.runnerId || undefined;
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
  const server = checkServerUrl(values.server || defaultServerUrl());
  const workspaceRoot = resolve(values.workspace || defaultRunnerWorkspace());
  const requireSandbox =
    values.requireSandbox === true || process.env.OMNIGENT_RUNNER_REQUIRE_SANDBOX === '1';
  const protectedPaths = [
    ...(values.protectedPath ?? []),
    ...(process.env.OMNIGENT_RUNNER_PROTECTED_PATHS ?? '').split(delimiter),
  ]
    .filter(Boolean)
    .map((dir) => resolve(dir));
  const idleText = values.sessionIdleMs ?? '';
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
    throw new CliError('', ExitCode.Failure);
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
}
