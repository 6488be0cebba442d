import { Observable } from 'rxjs';

/**
 * Cross-replica publish/subscribe by channel key (spec/runner-protocol.md §9): `s:{session}` for
 * stream events, `r:{runner}` / `h:{host}` for routed calls, `rep:{replica}` for their replies.
 * PostgreSQL LISTEN/NOTIFY, Redis pub/sub, or in-memory for one process (`bus.module.ts`).
 * Delivery is at most once and, per publisher, in publish order. A process's own handlers get
 * what it publishes during `publish` (in publish order, none twice), other replicas through the
 * server; between publishers there is no order, so a session stream orders its durable events
 * by their log seq (`src/common/sse/event-stream.ts`).
 */
export abstract class EventBus {
  abstract publish(channel: string, message: unknown): void;

  /** Returns the unsubscribe function. Handlers must not throw. */
  abstract subscribe(channel: string, handler: (message: unknown) => void): () => void;

  /** How many handlers this process has on the channel. */
  abstract subscriberCount(channel: string): number;

  /**
   * Resolves once every subscription made so far receives what is published from then on
   * (Redis subscribes asynchronously; the other buses at once).
   */
  subscribed(): Promise<void> {
    return Promise.resolve();
  }

  /** The channel as an Observable: subscribing subscribes to the bus, unsubscribing leaves it. */
  channel$(channel: string): Observable<unknown> {
    return new Observable<unknown>((subscriber) =>
      this.subscribe(channel, (message) => subscriber.next(message)),
    );
  }
}

export const sessionChannel = (sessionId: string) => `s:${sessionId}`;
export const runnerChannel = (runnerId: string) => `r:${runnerId}`;
export const hostChannel = (hostId: string) => `h:${hostId}`;
export const replicaChannel = (replicaId: string) => `rep:${replicaId}`;

/** What remote buses carry: the message and its publish time (for the lag metric). */
export interface BusEnvelope {
  /** The publishing bus (a replica drops its own copies). */
  o?: string;
  m: unknown;
  t: number;
}
