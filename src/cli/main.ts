import 'reflect-metadata';

import { chatCommand } from 'src/cli/chat.command';
import { CliCommand, UsageError } from 'src/cli/cli-command';
import { migrateCommand } from 'src/cli/migrate.command';
import { runnerCommand } from 'src/cli/runner.command';
import { serveCommand } from 'src/cli/serve.command';
import { syncOpenApiCommand } from 'src/cli/sync-openapi.command';
import { tokenCommand } from 'src/cli/token.command';
import { ConfigError, packageVersion } from 'src/config/app-config';

const COMMANDS: CliCommand[] = [
  serveCommand,
  runnerCommand,
  chatCommand,
  tokenCommand,
  migrateCommand,
  syncOpenApiCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: omnigent <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `omnigent <command> --help` for the options of one command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${help()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`Unknown command '${name}'.\n\n${help()}\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`Usage: ${command.usage}\n`);
    return 0;
  }
  try {
    return (await command.run(args)) ?? 0;
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(
        `omnigent ${name}: ${(error as Error).message}\nUsage: ${command.usage}\n`,
      );
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Long-running commands (serve, runner) keep the process alive through their handles.
    if (code !== 0) {
      process.exitCode = code;
    }
  },
  (error: unknown) => {
    process.stderr.write(`omnigent: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
