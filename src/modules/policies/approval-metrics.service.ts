import { Injectable, OnModuleInit } from '@nestjs/common';

import { MetricsService } from 'src/modules/metrics/metrics.service';
import { ElicitationsRepository } from 'src/modules/policies/elicitations.repository';

/**
 * `omnigent_pending_approvals`: elicitations waiting for a human, counted in PostgreSQL at each
 * scrape (a partial index on pending rows keeps it cheap), so every replica reports the same
 * figure and nothing has to keep a counter in step with resolves, expiries and cancels.
 */
@Injectable()
export class ApprovalMetricsService implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly elicitations: ElicitationsRepository,
  ) {}

  onModuleInit(): void {
    this.metrics.gauge(
      'pending_approvals',
      'Approvals (elicitations) waiting for an answer, all sessions',
      [],
      async (gauge) => {
        gauge.set(await this.elicitations.countPending());
      },
    );
  }
}
