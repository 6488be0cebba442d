import { Command } from 'commander';

import { CliError, load } from 'src/cli/cli-command';

export function serveCommand(): Command {
  return new Command('serve')
    .summary('Run the server (same as `npm start`)')
    .description(
      'Run the server. Configured through environment variables (README.md "Configuration"), ' +
        'among them OMNIGENT_PORT (6767), OMNIGENT_HOST, OMNIGENT_AUTH (none|jwt), ' +
        'OMNIGENT_DATA_DIR, DATABASE_URL (else the embedded PostgreSQL), REDIS_URL and ' +
        'OMNIGENT_LOCAL_RUNNER (auto|1|0).',
    )
    .action(async () => {
      load('reflect-metadata');
      const { getConfig } = load<typeof import('src/config/app-config')>('src/config/app-config');
      const { EmbeddedPostgresError } = load<
        typeof import('src/database/embedded/embedded-postgres.errors')
      >('src/database/embedded/embedded-postgres.errors');
      const { findPostgresBinaries } = load<
        typeof import('src/database/embedded/postgres-binaries')
      >('src/database/embedded/postgres-binaries');
      const { checkDatabase, StartupError } =
        load<typeof import('src/cli/serve-preflight')>('src/cli/serve-preflight');
      const config = getConfig();
      try {
        if (config.database.embedded) {
          // A platform without a binary gets one line (pointing at DATABASE_URL), not a stack.
          findPostgresBinaries();
        } else {
          // Before Nest loads: a wrong DATABASE_URL fails in seconds, in one line.
          await checkDatabase(config.database.url as string);
        }
        await load<typeof import('src/main')>('src/main').startServer(config);
      } catch (error) {
        if (error instanceof EmbeddedPostgresError || error instanceof StartupError) {
          throw new CliError(error.message);
        }
        throw error;
      }
    });
}
