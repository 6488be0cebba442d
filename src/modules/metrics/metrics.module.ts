import { Global, Module } from '@nestjs/common';

import { DatabaseMetricsService } from 'src/modules/metrics/database-metrics.service';
import { MetricsController } from 'src/modules/metrics/metrics.controller';
import { MetricsTokenGuard } from 'src/modules/metrics/metrics-token.guard';
import { MetricsService } from 'src/modules/metrics/metrics.service';

/** Global: any module injects `MetricsService` to register or update its own metrics. */
@Global()
@Module({
  controllers: [MetricsController],
  exports: [MetricsService],
  providers: [DatabaseMetricsService, MetricsService, MetricsTokenGuard],
})
export class MetricsModule {}
