import { Injectable, Logger, Optional } from '@nestjs/common';

import { BusHandlers } from 'src/common/bus/bus-handlers';
import { EventBus } from 'src/common/bus/event-bus';
import { MetricsService } from 'src/modules/metrics/metrics.service';

/** Single-process bus (unit tests, OMNIGENT_BUS=memory). Delivers synchronously, in publish order. */
@Injectable()
export class InMemoryBus extends EventBus {
  private readonly handlers = new BusHandlers(new Logger('InMemoryBus'));

  constructor(@Optional() private readonly metrics?: MetricsService) {
    super();
  }

  publish(channel: string, message: unknown): void {
    this.handlers.deliverOwn(channel, message, this.metrics);
  }

  subscribe(channel: string, handler: (message: unknown) => void): () => void {
    const { remove } = this.handlers.add(channel, handler);
    return () => void remove();
  }

  subscriberCount(channel: string): number {
    return this.handlers.count(channel);
  }
}
