import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { MetricsService } from 'src/modules/metrics/metrics.service';

interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** The connection pool, read at each scrape. */
@Injectable()
export class DatabaseMetricsService implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.metrics.gauge(
      'db_pool_connections',
      'Database pool connections by state (total, idle, waiting clients)',
      ['state'],
      (gauge) => {
        const pool = (this.dataSource.driver as unknown as { master?: PgPool }).master;
        if (!pool) {
          return;
        }
        gauge.set({ state: 'total' }, pool.totalCount);
        gauge.set({ state: 'idle' }, pool.idleCount);
        gauge.set({ state: 'waiting' }, pool.waitingCount);
      },
    );
  }
}
