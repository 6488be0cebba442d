import { Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';

import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { EMBEDDED_POSTGRES } from 'src/database/database.constants';
import { EmbeddedPostgres, startEmbeddedPostgres } from 'src/database/embedded/embedded-postgres';
import { runMigrations } from 'src/database/migrate';
import { typeOrmOptions } from 'src/database/typeorm-options';

/**
 * Closes the pool before the embedded database stops: shutdown hooks of this module run before
 * TypeORM's own, which then finds the data source already destroyed.
 */
@Injectable()
class EmbeddedPostgresCloser implements OnApplicationShutdown {
  constructor(
    @Inject(EMBEDDED_POSTGRES) private readonly embedded: EmbeddedPostgres | null,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) {
      return;
    }
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource?.isInitialized) {
      await dataSource.destroy();
    }
    await this.embedded.stop();
  }
}

@Module({
  exports: [EMBEDDED_POSTGRES],
  providers: [
    EmbeddedPostgresCloser,
    {
      inject: [APP_CONFIG],
      provide: EMBEDDED_POSTGRES,
      useFactory: (config: AppConfig): Promise<EmbeddedPostgres> | null =>
        config.database.embedded
          ? startEmbeddedPostgres({ dataDir: config.database.dataDir })
          : null,
    },
  ],
})
class EmbeddedPostgresModule {}

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      dataSourceFactory: async (options?: DataSourceOptions) => {
        const dataSource = await new DataSource(options as DataSourceOptions).initialize();
        if ((options as { runMigrationsAtStart?: boolean }).runMigrationsAtStart) {
          await runMigrations(dataSource, new Logger('Database'));
        }
        return dataSource;
      },
      imports: [EmbeddedPostgresModule],
      inject: [APP_CONFIG, EMBEDDED_POSTGRES],
      useFactory: (config: AppConfig, embedded: EmbeddedPostgres | null) => ({
        ...typeOrmOptions(config, embedded?.url),
        runMigrationsAtStart: config.database.migrate,
      }),
    }),
  ],
})
export class DatabaseModule {}
