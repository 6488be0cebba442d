import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { EventBus } from 'src/common/bus/event-bus';
import { InMemoryBus } from 'src/common/bus/in-memory.bus';
import { PostgresBus } from 'src/common/bus/postgres.bus';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { MetricsService } from 'src/modules/metrics/metrics.service';

/**
 * The configured bus (`config.bus.kind`): Redis pub/sub, PostgreSQL LISTEN/NOTIFY on the app's
 * own database (the embedded one included), or in-memory for a single process.
 */
async function createBus(
  config: AppConfig,
  dataSource: DataSource,
  metrics?: MetricsService,
): Promise<EventBus> {
  switch (config.bus.kind) {
    case 'memory':
      return new InMemoryBus(metrics);
    case 'postgres': {
      const url = (dataSource.options as { url: string }).url;
      const bus = new PostgresBus({ url, metrics });
      await bus.start();
      return bus;
    }
    case 'redis': {
      // ioredis loads only when the bus is Redis (~50 ms of a warm start otherwise; issue 12).
      const { RedisBus }: typeof import('src/common/bus/redis.bus') =
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('src/common/bus/redis.bus');
      const bus = new RedisBus({ url: config.bus.redisUrl as string, metrics });
      await bus.start();
      return bus;
    }
  }
}

@Global()
@Module({
  exports: [EventBus],
  providers: [
    {
      inject: [APP_CONFIG, DataSource, { optional: true, token: MetricsService }],
      provide: EventBus,
      useFactory: createBus,
    },
  ],
})
export class BusModule {}
