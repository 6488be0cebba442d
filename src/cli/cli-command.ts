import { Command } from 'commander';

/** The exit statuses every command uses (README "The CLI"). */
export enum ExitCode {
  Ok = 0,
  Failure = 1,
  Usage = 2,
  /** The server could not be reached, or refused the credentials. */
  Unreachable = 3,
  Interrupted = 130,
}

/**
 * One `omnigent <name>` subcommand in the older, argv-taking shape. `fromCliCommand` registers it
 * with commander; new commands build a commander `Command` directly.
 */
export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number | void>;
}

/** A usage error (bad flag value): one line on stderr, exit code 2. */
export class UsageError extends Error {}

/** A failure with a chosen exit code and a one-line message (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Failure,
  ) {
    super(message);
  }
}

/**
 * Loads a module when a command runs rather than at start-up, so `--help` and `--version` never
 * load Nest. A plain `require`: the built CLI resolves `src/…` through NODE_PATH
 * (bin/omnigent.js), which dynamic `import()` ignores.
 */
export function load<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

/** Wraps an argv-taking `CliCommand` as a commander command (its own parser does the flags). */
export function fromCliCommand(command: CliCommand): Command {
  return new Command(command.name)
    .summary(command.summary)
    .description(command.summary)
    .usage(command.usage.replace(new RegExp(`^omnigent ${command.name} ?`), ''))
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (args: string[], _options: unknown, self: Command) => {
      if (args.includes('--help') || args.includes('-h')) {
        process.stdout.write(`Usage: ${command.usage}\n`);
        return;
      }
      const code = (await command.run(self.args)) ?? 0;
      if (code !== 0) {
        throw new CliError('', code);
      }
    });
}
