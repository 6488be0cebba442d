import { Logger } from '@nestjs/common';

import type { MetricsService } from 'src/modules/metrics/metrics.service';

export type BusHandler = (message: unknown) => void;

/**
 * The handlers this process registered, by channel: every bus delivers through it, so a handler
 * that throws never stops the others. `add` says whether the channel was new (a remote bus then
 * subscribes to it) and its remover whether it was the last one (the bus then leaves it).
 */
export class BusHandlers {
  private readonly handlers = new Map<string, Set<BusHandler>>();
  /** Messages published by a handler while delivering: they wait for the current delivery. */
  private readonly queued: [string, unknown][] = [];
  private delivering = false;

  constructor(private readonly logger: Logger) {}

  add(channel: string, handler: BusHandler): { first: boolean; remove: () => boolean } {
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    const handlers = set;
    return {
      first,
      remove: () => {
        if (!handlers.delete(handler)) {
          return false;
        }
        if (handlers.size === 0 && this.handlers.get(channel) === handlers) {
          this.handlers.delete(channel);
          return true;
        }
        return false;
      },
    };
  }

  has(channel: string): boolean {
    return this.handlers.has(channel);
  }

  count(channel: string): number {
    return this.handlers.get(channel)?.size ?? 0;
  }

  /**
   * Hands `message` to every handler of `channel`, in delivery order: a message delivered from
   * inside a handler (it published) waits until every handler has the one being delivered, so
   * no handler sees two messages in an order other than the one they were delivered in.
   */
  deliver(channel: string, message: unknown): void {
    this.queued.push([channel, message]);
    if (this.delivering) {
      return;
    }
    this.delivering = true;
    try {
      for (let next = this.queued.shift(); next; next = this.queued.shift()) {
        this.run(next[0], next[1]);
      }
    } finally {
      this.delivering = false;
    }
  }

  /**
   * `deliver` of a message this process published, timed into `bus_delivery_seconds` as its
   * deliveries from other replicas are (publish → last local handler returned): every bus hands
   * its own messages to its handlers at publish.
   */
  deliverOwn(channel: string, message: unknown, metrics?: MetricsService): void {
    const started = metrics ? process.hrtime.bigint() : 0n;
    this.deliver(channel, message);
    metrics?.busLag.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  private run(channel: string, message: unknown): void {
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
  }
}
