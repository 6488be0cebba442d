import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Command, CommanderError } from 'commander';

import { chatCommand } from 'src/cli/chat.command';
import { CliError, ExitCode, UsageError } from 'src/cli/cli-command';
import { hostCommand } from 'src/cli/host.command';
import { migrateCommand } from 'src/cli/migrate.command';
import { runnerCommand } from 'src/cli/runner.command';
import { serveCommand } from 'src/cli/serve.command';
import { syncOpenApiCommand } from 'src/cli/sync-openapi.command';
import { tokenCommand } from 'src/cli/token.command';

// Only commander and the command definitions load here: each action loads what it needs when it
// runs (`load()` in cli-command.ts), so `--help` and `--version` stay fast. One line per command.
const COMMANDS: (() => Command)[] = [
  serveCommand,
  runnerCommand,
  hostCommand,
  chatCommand,
  tokenCommand,
  migrateCommand,
  syncOpenApiCommand,
];

function packageVersion(): string {
  // dist/src/cli/main.js when built, src/cli/main.ts under Jest.
  const up = __dirname.includes(join('dist', 'src')) ? ['..', '..', '..'] : ['..', '..'];
  const file = join(__dirname, ...up, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function configure(command: Command, path: string): void {
  command
    .exitOverride()
    .configureOutput({
      outputError: (text, write) =>
        write(
          `${path}: ${text.replace(/^error: /, '').trimEnd()}\n` +
            `Run \`${path} --help\` for usage.\n`,
        ),
    })
    .showSuggestionAfterError(true);
  for (const sub of command.commands) {
    configure(sub, `${path} ${sub.name()}`);
  }
}

export function buildProgram(): Command {
  const program = new Command('omnigent')
    .description('Omnigent server: run the server, runners, and chat with agents')
    .version(packageVersion(), '-v, --version')
    .addHelpText(
      'after',
      '\nRun `omnigent <command> --help` for the options and environment variables of one command.\n' +
        'Exit codes: 0 ok, 1 failure, 2 usage error, 3 server unreachable or credentials refused, 130 interrupted.',
    );
  for (const command of COMMANDS) {
    program.addCommand(command());
  }
  configure(program, 'omnigent');
  return program;
}

/** Runs the CLI; resolves with the exit status (long-running commands keep the process alive). */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  let current = 'omnigent';
  program.hook('preAction', (_program, action) => {
    current = `omnigent ${action.name()}`;
  });
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    return ExitCode.Usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.Ok;
  } catch (error) {
    return exitCodeFor(error, current);
  }
}

function exitCodeFor(error: unknown, command: string): number {
  if (error instanceof CommanderError) {
    // Help and version exit 0; parse errors were already printed as one line.
    return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  if (error instanceof CliError) {
    if (error.message) {
      process.stderr.write(`${command}: ${error.message}\n`);
    }
    return error.exitCode;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`${command}: ${error.message}\nRun \`${command} --help\` for usage.\n`);
    return ExitCode.Usage;
  }
  if ((error as Error)?.name === 'ConfigError') {
    process.stderr.write(`${(error as Error).message}\n`);
    return ExitCode.Failure;
  }
  const debug = ['debug', 'verbose'].includes(process.env.OMNIGENT_LOG_LEVEL ?? '');
  process.stderr.write(
    `${command}: ${debug ? ((error as Error)?.stack ?? String(error)) : ((error as Error)?.message ?? String(error))}\n`,
  );
  return ExitCode.Failure;
}
