import { Injectable } from '@nestjs/common';
import { HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { ReadyResponseDto } from 'src/modules/system/dto/ready-response.dto';

const DB_TIMEOUT_MS = 2_000;

/**
 * Whether this replica should get traffic: the database answers, and the process is not
 * draining. SIGTERM starts the drain (src/main.ts): `/ready` answers 503 from then on, while
 * requests in flight and new ones still work until the server closes.
 */
@Injectable()
export class ReadinessService {
  private drainingSince: number | null = null;

  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
  ) {}

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  async check(): Promise<ReadyResponseDto> {
    if (this.draining) {
      throw new DomainError(ErrorCode.ServiceUnavailable, 'Draining: the server is shutting down', {
        status: 'draining',
      });
    }
    // The event bus is in-process today; a Redis or NOTIFY bus adds its check here.
    const result = await this.health
      .check([() => this.db.pingCheck('database', { timeout: DB_TIMEOUT_MS })])
      .catch((error: unknown) => {
        const details = (error as { response?: { details?: unknown } }).response?.details;
        throw new DomainError(
          ErrorCode.ServiceUnavailable,
          'Not ready: the database does not answer',
          {
            status: 'error',
            details,
          },
        );
      });
    return { status: 'ok', details: result.details as ReadyResponseDto['details'] };
  }
}
