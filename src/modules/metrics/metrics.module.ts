import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';

import { DatabaseMetricsService } from 'src/modules/metrics/database-metrics.service';
import { MetricsController } from 'src/modules/metrics/metrics.controller';
import { MetricsTokenGuard } from 'src/modules/metrics/metrics-token.guard';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { StreamMetricsInterceptor } from 'src/modules/metrics/stream-metrics.interceptor';

/** Global: any module injects `MetricsService` to register or update its own metrics. */
@Global()
@Module({
  controllers: [MetricsController],
  exports: [MetricsService],
  providers: [
    DatabaseMetricsService,
    MetricsService,
    MetricsTokenGuard,
    { provide: APP_INTERCEPTOR, useClass: StreamMetricsInterceptor },
  ],
})
export class MetricsModule {}
