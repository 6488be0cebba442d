import { delimiter, join, resolve } from 'node:path';

import { Command, Option } from 'commander';

import { load, UsageError } from 'src/cli/cli-command';
import { checkServerUrl, defaultServerUrl, serverOption, tokenOption } from 'src/cli/cli-env';

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} [host] ${message}\n`);
}

interface HostOptions {
  server?: string;
  token?: string;
  name?: string;
  stateDir?: string;
  root?: string[];
  protectedPath?: string[];
}

const repeatable = (value: string, previous: string[] = []) => [...previous, value];

export function hostCommand(): Command {
  return new Command('host')
    .summary('Register this machine as a host: the server launches runners here')
    .addOption(serverOption())
    .addOption(tokenOption())
    .option('--name <name>', 'the name shown in GET /v1/hosts (default: the machine name)')
    .addOption(
      new Option(
        '--state-dir <dir>',
        'where the host id, runner list and runner logs live (default ~/.omnigent/host)',
      ).env('OMNIGENT_HOST_STATE_DIR'),
    )
    .option(
      '--root <dir>',
      'a directory the server may browse and run sessions in; repeatable (default: your home)',
      repeatable,
    )
    .option(
      '--protected-path <dir>',
      'a directory runner tools must never see; repeatable ' +
        '(env: OMNIGENT_HOST_PROTECTED_PATHS, separated by ":", added to the flags)',
      repeatable,
    )
    .action(async (values: HostOptions) => {
      await runHost(values);
    });
}

async function runHost(values: HostOptions): Promise<void> {
  const { homedir, hostname } = await import('node:os');
  const { LOCAL_RUNNER_ENV, packageRoot, packageVersion } =
    load<typeof import('src/config/app-config')>('src/config/app-config');
  const { HostDaemon } = load<typeof import('src/host/host-daemon')>('src/host/host-daemon');
  const { HARNESS_NAMES } = load<typeof import('src/runner/harnesses/harnesses')>(
    'src/runner/harnesses/harnesses',
  );
  const server = checkServerUrl(values.server || defaultServerUrl());
  const home = homedir();
  const stateDir = resolve(values.stateDir || join(home, '.omnigent', 'host'));
  const roots = (values.root ?? [home]).map((dir) => resolve(dir));
  const name = (values.name ?? hostname()).trim();
  if (!name || name.length > 200) {
    throw new UsageError('--name must be 1–200 characters');
  }
  // What this machine can run: echo always; openai with a key in the environment.
  const harnesses = Object.fromEntries(
    HARNESS_NAMES.map((harness) => [
      harness,
      harness === 'openai'
        ? Boolean(process.env.OPENAI_API_KEY) || 'OPENAI_API_KEY is not set'
        : true,
    ]),
  );
  // Runners get the runner allowlist, never the daemon's own token or settings.
  const runnerEnv = Object.fromEntries(
    LOCAL_RUNNER_ENV.flatMap((key) =>
      process.env[key] === undefined ? [] : [[key, process.env[key] as string]],
    ),
  );
  const daemon = new HostDaemon({
    serverUrl: server,
    token: values.token || undefined,
    name,
    stateDir,
    home,
    roots,
    harnesses,
    runnerCommand: {
      execPath: process.execPath,
      script: join(packageRoot(), 'bin', 'omnigent.js'),
    },
    runnerEnv,
    protectedPaths: [
      ...(values.protectedPath ?? []),
      ...(process.env.OMNIGENT_HOST_PROTECTED_PATHS ?? '').split(delimiter),
    ]
      .filter(Boolean)
      .map((dir) => resolve(dir)),
    version: packageVersion(),
    log,
    onRegistered: (hostId) =>
      process.stdout.write(
        `Host ${hostId} (${name}) registered with ${server}; serving ${roots.join(', ')}\n`,
      ),
    onFatal: () => {
      process.exitCode = 1;
      void daemon.stop();
    },
  });
  process.stdout.write(`Host id: ${daemon.hostId}\n`);
  daemon.start();
  const shutdown = (signal: string) => {
    log(`${signal}: stopping the host and its runners`);
    void daemon.stop();
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}
