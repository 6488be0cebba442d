import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What other modules get: they never import prom-client themselves. */
export interface CounterMetric<L extends string = string> {
  inc(labels?: Partial<Record<L, string | number>>, value?: number): void;
}
export interface GaugeMetric<L extends string = string> {
  set(labels: Partial<Record<L, string | number>>, value: number): void;
  set(value: number): void;
  inc(labels?: Partial<Record<L, string | number>>, value?: number): void;
  dec(labels?: Partial<Record<L, string | number>>, value?: number): void;
}
export interface HistogramMetric<L extends string = string> {
  observe(labels: Partial<Record<L, string | number>>, value: number): void;
  observe(value: number): void;
}

export type TurnOutcome = 'completed' | 'failed' | 'incomplete' | 'cancelled';

const PREFIX = 'omnigent_';
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const TURN_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * The server's Prometheus registry (`GET /metrics`). One registry per app, so several apps in one
 * process (tests) never clash. Names get the `omnigent_` prefix; asking twice for one name
 * returns the same metric.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = this.counter('http_requests_total', 'HTTP requests by route and status', [
    'method',
    'route',
    'status',
  ]);
  readonly httpDuration = this.histogram(
    'http_request_duration_seconds',
    'HTTP request latency by route (streams: until they end)',
    ['method', 'route', 'status'],
    LATENCY_BUCKETS,
  );
  /** Set by the stream owner (a global interceptor would turn pre-stream errors into 200s). */
  readonly openStreams = this.gauge('open_streams', 'Server-sent event streams open now', [
    'route',
  ]);
  readonly framesSent = this.counter('stream_frames_sent_total', 'Stream frames sent', ['route']);
  readonly runnersConnected = this.gauge('runners_connected', 'Runners connected to this replica');
  readonly turns = this.counter('turns_total', 'Finished turns by outcome', ['outcome']);
  readonly turnDuration = this.histogram(
    'turn_duration_seconds',
    'Turn duration by outcome',
    ['outcome'],
    TURN_BUCKETS,
  );
  readonly busLag = this.histogram(
    'bus_delivery_seconds',
    'Time from publishing a bus message to its last local handler returning',
    [],
    [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  counter<L extends string>(name: string, help: string, labelNames: L[] = []): CounterMetric<L> {
    return (
      this.existing(name) ??
      new Counter({ name: PREFIX + name, help, labelNames, registers: [this.registry] })
    );
  }

  /** `collect` runs on every scrape (e.g. to read a pool's size); the scrape awaits a promise. */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: L[] = [],
    collect?: (gauge: GaugeMetric<L>) => void | Promise<void>,
  ): GaugeMetric<L> {
    return (
      this.existing(name) ??
      new Gauge({
        name: PREFIX + name,
        help,
        labelNames,
        registers: [this.registry],
        collect: collect
          ? function (this: Gauge<L>) {
              return collect(this);
            }
          : undefined,
      })
    );
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: L[] = [],
    buckets = LATENCY_BUCKETS,
  ): HistogramMetric<L> {
    return (
      this.existing(name) ??
      new Histogram({ name: PREFIX + name, help, labelNames, buckets, registers: [this.registry] })
    );
  }

  /** A turn ended: `startedAt` is its `created_at` in Unix seconds, when known. */
  recordTurn(outcome: TurnOutcome, startedAt?: number | null): void {
    this.turns.inc({ outcome });
    if (typeof startedAt === 'number' && startedAt > 0) {
      this.turnDuration.observe({ outcome }, Math.max(0, Date.now() / 1000 - startedAt));
    }
  }

  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  private existing<M>(name: string): M | undefined {
    return this.registry.getSingleMetric(PREFIX + name) as M | undefined;
  }
}
