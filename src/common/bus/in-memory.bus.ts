import { Injectable, Logger, Optional } from '@nestjs/common';

import { EventBus } from 'src/common/bus/event-bus';
import { MetricsService } from 'src/modules/metrics/metrics.service';

/** Single-process bus (embedded mode, tests). Delivers synchronously, in publish order. */
@Injectable()
export class InMemoryBus extends EventBus {
  private readonly logger = new Logger('InMemoryBus');
  private readonly handlers = new Map<string, Set<(message: unknown) => void>>();

  constructor(@Optional() private readonly metrics?: MetricsService) {
    super();
  }

  publish(channel: string, message: unknown): void {
    const started = this.metrics ? process.hrtime.bigint() : 0n;
    for (const handler of [...(this.handlers.get(channel) ?? [])]) {
      try {
        handler(message);
      } catch (error) {
        this.logger.error(
          `Handler on ${channel} threw: ${(error as Error).message}`,
          (error as Error).stack,
        );
      }
    }
    this.metrics?.busLag.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  subscribe(channel: string, handler: (message: unknown) => void): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
      }
    };
  }

  subscriberCount(channel: string): number {
    return this.handlers.get(channel)?.size ?? 0;
  }
}
