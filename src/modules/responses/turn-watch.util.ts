import { Observable } from 'rxjs';

import type { SessionBusMessage } from 'src/modules/sessions/stream/session.events';

const TERMINAL = new Set([
  'response.completed',
  'response.failed',
  'response.incomplete',
  'response.cancelled',
]);

/** Watches a session's bus channel for turns that end; subscribed from creation on. */
export interface TurnWatch {
  /** Resolves true once turn `responseId` ended (or the session was deleted), false after `ms`. */
  ended(responseId: string, ms: number): Promise<boolean>;
  stop(): void;
}

/**
 * Subscribes now, so a turn that ends between this call and `ended()` is not missed (the turn
 * is started after the watch, and its id is learnt only when the start returns).
 */
export function watchTurns(channel$: Observable<unknown>): TurnWatch {
  const done = new Set<string>();
  const waiters = new Map<string, () => void>();
  let closed = false;
  const subscription = channel$.subscribe((raw) => {
    const message = raw as SessionBusMessage;
    if (message.kind === 'close') {
      closed = true;
      [...waiters.values()].forEach((wake) => wake());
      return;
    }
    if (TERMINAL.has(message.event.type)) {
      const id = (message.event as { response?: { id?: string } }).response?.id;
      if (id) {
        done.add(id);
        waiters.get(id)?.();
      }
    }
  });
  return {
    ended: (responseId, ms) =>
      new Promise<boolean>((resolve) => {
        if (closed || done.has(responseId)) {
          resolve(true);
          return;
        }
        const timer = setTimeout(() => {
          waiters.delete(responseId);
          resolve(false);
        }, ms);
        waiters.set(responseId, () => {
          clearTimeout(timer);
          waiters.delete(responseId);
          resolve(true);
        });
      }),
    stop: () => subscription.unsubscribe(),
  };
}
