import { Command } from 'commander';

import { CliError, load } from 'src/cli/cli-command';

export function migrateCommand(): Command {
  return new Command('migrate')
    .summary('Apply pending database migrations and exit')
    .description(
      'Apply pending database migrations and exit. Uses DATABASE_URL, else the embedded ' +
        'PostgreSQL under OMNIGENT_DATA_DIR (default ~/.omnigent).',
    )
    .action(async () => {
      load('reflect-metadata');
      const { Logger } = load<typeof import('@nestjs/common')>('@nestjs/common');
      const { DataSource } = load<typeof import('typeorm')>('typeorm');
      const { getConfig } = load<typeof import('src/config/app-config')>('src/config/app-config');
      const { startEmbeddedPostgres } = load<
        typeof import('src/database/embedded/embedded-postgres')
      >('src/database/embedded/embedded-postgres');
      const { EmbeddedPostgresError } = load<
        typeof import('src/database/embedded/embedded-postgres.errors')
      >('src/database/embedded/embedded-postgres.errors');
      const { runMigrations } = load<typeof import('src/database/migrate')>('src/database/migrate');
      const { typeOrmOptions } = load<typeof import('src/database/typeorm-options')>(
        'src/database/typeorm-options',
      );
      const config = getConfig();
      const logger = new Logger('Migrate');
      let embedded;
      try {
        embedded = config.database.embedded
          ? await startEmbeddedPostgres({ dataDir: config.database.dataDir })
          : null;
      } catch (error) {
        if (error instanceof EmbeddedPostgresError) {
          throw new CliError(error.message);
        }
        throw error;
      }
      try {
        const dataSource = await new DataSource(typeOrmOptions(config, embedded?.url)).initialize();
        try {
          const count = await runMigrations(dataSource, logger);
          logger.log(count === 0 ? 'Database is up to date' : `Done (${count} applied)`);
        } finally {
          await dataSource.destroy();
        }
      } finally {
        await embedded?.stop();
      }
    });
}
