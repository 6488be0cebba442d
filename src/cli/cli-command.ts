/** One `omnigent <name>` subcommand. `run` gets the arguments after the name. */
export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number | void>;
}

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}
