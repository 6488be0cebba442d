import { DataSourceOptions } from 'typeorm';

import { AppConfig } from 'src/config/app-config';
import { ENTITIES } from 'src/database/entities';
import { MIGRATIONS } from 'migrations/index';

/**
 * TypeORM options for the configured database. The embedded database is real PostgreSQL too,
 * so both take the same path: one URL, the same driver and the same pool.
 */
export function typeOrmOptions(config: AppConfig, embeddedUrl?: string): DataSourceOptions {
  const url = config.database.url ?? embeddedUrl;
  if (!url) {
    throw new Error('No database: DATABASE_URL is unset and the embedded database is not running');
  }
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    logging: ['error', 'warn'],
    extra: { max: config.database.poolSize, connectionTimeoutMillis: 10_000 },
  };
}
