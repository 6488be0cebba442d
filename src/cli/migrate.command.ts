import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { CliCommand } from 'src/cli/cli-command';
import { getConfig } from 'src/config/app-config';
import { startEmbeddedPostgres } from 'src/database/embedded-postgres';
import { runMigrations } from 'src/database/migrate';
import { typeOrmOptions } from 'src/database/typeorm-options';

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'Apply pending database migrations and exit',
  usage: 'omnigent migrate',
  async run() {
    const config = getConfig();
    const logger = new Logger('Migrate');
    const embedded = config.database.embedded
      ? await startEmbeddedPostgres({ dataDir: `${config.database.dataDir}/pglite` })
      : null;
    const dataSource = await new DataSource(typeOrmOptions(config, embedded?.port)).initialize();
    try {
      const count = await runMigrations(dataSource, logger);
      logger.log(count === 0 ? 'Database is up to date' : `Done (${count} applied)`);
    } finally {
      await dataSource.destroy();
      await embedded?.stop();
    }
  },
};
