import { randomUUID } from 'node:crypto';

import { Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';

import { BusEnvelope, EventBus } from 'src/common/bus/event-bus';
import { BusHandlers } from 'src/common/bus/bus-handlers';
import type { MetricsService } from 'src/modules/metrics/metrics.service';

export interface RedisBusOptions {
  url: string;
  metrics?: MetricsService;
  /** Prefix of the connections' names (`CLIENT SETNAME`): `<prefix>-pub`, `<prefix>-sub`. */
  name?: string;
}

/**
 * Redis pub/sub bus (spec/runner-protocol.md §9): one publisher connection (so one replica's
 * messages leave in publish order) and one subscriber connection that SUBSCRIBEs per key while
 * this process has a handler for it. This process's own handlers get a message when it is
 * published; the copy Redis sends back (tagged with this bus's origin) is dropped. ioredis
 * reconnects both with backoff, queues publishes while offline and subscribes again after a
 * reconnect; messages sent while a replica was disconnected are lost (at most once).
 */
export class RedisBus extends EventBus implements OnApplicationShutdown {
  private readonly logger = new Logger('RedisBus');
  private readonly handlers = new BusHandlers(this.logger);
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly pending = new Set<Promise<unknown>>();
  /** This bus's id in what it publishes, so it can drop its own copies unparsed. */
  private readonly origin = randomUUID();
  private readonly ownPrefix = `{"o":${JSON.stringify(this.origin)},`;

  constructor(private readonly options: RedisBusOptions) {
    super();
    const connection = {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2000),
    };
    const name = options.name ?? 'omnigent-bus';
    this.pub = new Redis(options.url, { ...connection, connectionName: `${name}-pub` });
    this.sub = new Redis(options.url, { ...connection, connectionName: `${name}-sub` });
    for (const [name, redis] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      redis.on('error', (error: Error) => this.logger.warn(`Redis ${name}: ${error.message}`));
      redis.on('reconnecting', () => this.logger.warn(`Redis ${name} reconnecting`));
    }
    this.sub.on('message', (channel: string, text: string) => this.onMessage(channel, text));
  }

  /** Connects both connections; rejects when Redis cannot be reached at start. */
  async start(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()]);
  }

  /** Sent to the other replicas first: what a handler publishes in turn goes out after it. */
  publish(channel: string, message: unknown): void {
    const text = JSON.stringify({
      o: this.origin,
      m: message,
      t: Date.now(),
    } satisfies BusEnvelope);
    this.pub
      .publish(channel, text)
      .catch((error: Error) => this.logger.warn(`Bus publish failed: ${error.message}`));
    this.handlers.deliverOwn(channel, message, this.options.metrics);
  }

  subscriberCount(channel: string): number {
    return this.handlers.count(channel);
  }

  subscribe(channel: string, handler: (message: unknown) => void): () => void {
    const { first, remove } = this.handlers.add(channel, handler);
    if (first) {
      this.track(this.sub.subscribe(channel));
    }
    return () => {
      if (remove()) {
        this.track(this.sub.unsubscribe(channel));
      }
    };
  }

  async subscribed(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    // QUIT waits for Redis; a replica cut off from it must still stop.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([this.pub.quit(), this.sub.quit()]),
      new Promise((resolve) => (timer = setTimeout(resolve, 2000))),
    ]);
    clearTimeout(timer);
    this.pub.disconnect();
    this.sub.disconnect();
  }

  private track(command: Promise<unknown>): void {
    const tracked = command.catch((error: Error) =>
      this.logger.warn(`Redis (un)subscribe failed: ${error.message}`),
    );
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private onMessage(channel: string, text: string): void {
    if (text.startsWith(this.ownPrefix)) {
      // Ours: its handlers had it at publish.
      return;
    }
    let envelope: BusEnvelope;
    try {
      envelope = JSON.parse(text) as BusEnvelope;
    } catch {
      this.logger.warn(`Ignored a malformed message on ${channel}`);
      return;
    }
    this.handlers.deliver(channel, envelope.m);
    this.options.metrics?.busLag.observe(Math.max(0, Date.now() - envelope.t) / 1000);
  }
}
