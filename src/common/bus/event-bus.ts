import { Observable } from 'rxjs';

/**
 * Cross-replica publish/subscribe by channel key (spec/runner-protocol.md §9): `s:{session}` for
 * stream events, `r:{runner}` / `rep:{replica}` for routed runner calls. In-memory for one
 * process; PostgreSQL NOTIFY and Redis implementations plug in behind the same interface.
 */
export abstract class EventBus {
  abstract publish(channel: string, message: unknown): void;

  /** Returns the unsubscribe function. Handlers must not throw. */
  abstract subscribe(channel: string, handler: (message: unknown) => void): () => void;

  /** The channel as an Observable: subscribing subscribes to the bus, unsubscribing leaves it. */
  channel$(channel: string): Observable<unknown> {
    return new Observable<unknown>((subscriber) =>
      this.subscribe(channel, (message) => subscriber.next(message)),
    );
  }
}

export const sessionChannel = (sessionId: string) => `s:${sessionId}`;
