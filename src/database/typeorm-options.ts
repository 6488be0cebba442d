import { DataSourceOptions } from 'typeorm';

import { AppConfig } from 'src/config/app-config';
import { ENTITIES } from 'src/database/entities';
import { MIGRATIONS } from 'migrations/index';

/**
 * TypeORM options for the configured database. The embedded database must use a pool of exactly
 * one connection (spec/stack.md §3.2: pglite-socket mixes up concurrent extended queries).
 */
export function typeOrmOptions(config: AppConfig, embeddedPort?: number): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    logging: ['error', 'warn'] as ('error' | 'warn')[],
  };
  if (config.database.url) {
    return {
      ...common,
      url: config.database.url,
      extra: { max: config.database.poolSize, connectionTimeoutMillis: 10_000 },
    };
  }
  return {
    ...common,
    host: '127.0.0.1',
    port: embeddedPort,
    username: 'postgres',
    password: 'postgres',
    database: 'postgres',
    extra: { max: 1, connectionTimeoutMillis: 15_000 },
  };
}
