import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { CliCommand } from 'src/cli/cli-command';
import { getConfig } from 'src/config/app-config';
import { startEmbeddedPostgres } from 'src/database/embedded/embedded-postgres';
import { EmbeddedPostgresError } from 'src/database/embedded/embedded-postgres.errors';
import { runMigrations } from 'src/database/migrate';
import { typeOrmOptions } from 'src/database/typeorm-options';

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'Apply pending database migrations and exit',
  usage: 'omnigent migrate',
  async run() {
    const config = getConfig();
    const logger = new Logger('Migrate');
    let embedded;
    try {
      embedded = config.database.embedded
        ? await startEmbeddedPostgres({ dataDir: config.database.dataDir })
        : null;
    } catch (error) {
      if (error instanceof EmbeddedPostgresError) {
        process.stderr.write(`omnigent migrate: ${error.message}\n`);
        return 1;
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
  },
};
