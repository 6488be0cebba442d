import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { SSE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { defer, finalize, Observable, tap } from 'rxjs';

import { MetricsService } from 'src/modules/metrics/metrics.service';

/** Open `@Sse()` streams and the frames they send, per route, for every stream route. */
@Injectable()
export class StreamMetricsInterceptor implements NestInterceptor {
  constructor(
    private readonly metrics: MetricsService,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.reflector.get<boolean>(SSE_METADATA, context.getHandler())) {
      return next.handle();
    }
    const route = `${context.getClass().name}.${context.getHandler().name}`;
    return defer(() => {
      this.metrics.openStreams.inc({ route });
      return next.handle().pipe(
        tap(() => this.metrics.framesSent.inc({ route })),
        finalize(() => this.metrics.openStreams.dec({ route })),
      );
    });
  }
}
