import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { map, Observable, Subject } from 'rxjs';

import { AuthPrincipal, RESERVED_USER_IDS } from 'src/common/auth/auth-principal';
import { EventBus } from 'src/common/bus/event-bus';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { normalizeStreamEvent, StreamEvent } from 'src/protocol/stream-events';
import { PresenceRegistry, PresenceViewer } from 'src/modules/sessions/presence/presence-registry';
import { SessionEntity } from 'src/modules/sessions/session.entity';

/** How often a replica repeats its viewers; what is not repeated for 3 periods expires. */
export const PRESENCE_REFRESH_MS = 10_000;

/** The bus channel of a session tree's presence (`pr:{root}`): each replica's own viewers. */
export const presenceChannel = (rootId: string) => `pr:${rootId}`;

/** On `pr:{root}`: a replica's viewers of the tree, or a newcomer asking for everyone's. */
type PresenceMessage =
  | { type: 'viewers'; replica: string; viewers: PresenceViewer[] }
  | { type: 'hello'; replica: string };

/** A stream's place in its tree's presence (api-reference §4.5). */
export interface PresenceSeat {
  /** Registers the stream; returns its leave. */
  join(): () => void;
  /** `session.presence` with the tree's viewers now, for the stream's conversation. */
  current(): StreamEvent;
  /** `session.presence` on every later change of the tree's viewers. */
  changes$: Observable<StreamEvent>;
}

/**
 * Presence per session tree (api-reference §4.5): streams register here, co-viewers on every
 * replica get the full viewer list on each join, leave (after `presenceGraceMs`) and idle flip.
 * Each replica keeps its own streams and publishes its viewers of a tree on `pr:{root}`, again
 * every `refreshMs`; what a replica stops refreshing (it crashed) expires after three periods.
 */
@Injectable()
export class PresenceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly replica = randomUUID();
  private readonly registry: PresenceRegistry;
  /** Per tree with streams watching: the `session.presence` builder of each new viewer list. */
  private readonly changes = new Map<string, Subject<(sessionId: string) => StreamEvent>>();
  private readonly subscriptions = new Map<string, () => void>();
  private refreshTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly bus: EventBus,
  ) {
    this.registry = new PresenceRegistry({
      graceMs: config.sse.presenceGraceMs,
      now: () => new Date(),
      onViewers: (root, viewers) => this.changes.get(root)?.next(presenceEvents(viewers)),
      onLocal: (root, viewers) => this.onLocal(root, viewers),
    });
  }

  onApplicationBootstrap(): void {
    this.refreshTimer = setInterval(() => this.refresh(), PRESENCE_REFRESH_MS);
    this.refreshTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.refreshTimer);
    for (const root of this.registry.roots()) {
      this.publish(root, { type: 'viewers', replica: this.replica, viewers: [] });
    }
    this.subscriptions.forEach((off) => off());
    this.subscriptions.clear();
  }

  /**
   * The stream's seat in the presence of its session's tree, or null for a caller presence
   * does not track (the reserved `local` user, runners).
   */
  seat(principal: AuthPrincipal, session: SessionEntity, idle: boolean): PresenceSeat | null {
    if (principal.kind !== 'user' || RESERVED_USER_IDS.includes(principal.userId)) {
      return null;
    }
    const root = session.rootSessionId ?? session.id;
    return {
      join: () => this.registry.join(root, principal.userId, idle),
      current: () => presenceEvents(this.registry.viewers(root))(session.id),
      changes$: this.changes$(root).pipe(map((event) => event(session.id))),
    };
  }

  /** One Subject per tree, there while streams of the tree watch it. */
  private changes$(root: string): Observable<(sessionId: string) => StreamEvent> {
    return new Observable((subscriber) => {
      let subject = this.changes.get(root);
      if (!subject) {
        subject = new Subject();
        this.changes.set(root, subject);
      }
      const watched = subject;
      const subscription = watched.subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        if (!watched.observed && this.changes.get(root) === watched) {
          this.changes.delete(root);
        }
      };
    });
  }

  private onLocal(root: string, viewers: PresenceViewer[]): void {
    if (viewers.length > 0 && !this.subscriptions.has(root)) {
      const off = this.bus.subscribe(presenceChannel(root), (m) =>
        this.onMessage(root, m as PresenceMessage),
      );
      this.subscriptions.set(root, off);
      // Once subscribed (Redis subscribes asynchronously), ask the others for their viewers.
      void this.bus
        .subscribed()
        .then(() => this.publish(root, { type: 'hello', replica: this.replica }));
    }
    this.publish(root, { type: 'viewers', replica: this.replica, viewers });
    if (viewers.length === 0) {
      this.subscriptions.get(root)?.();
      this.subscriptions.delete(root);
      this.registry.forget(root);
    }
  }

  private onMessage(root: string, message: PresenceMessage): void {
    if (message.replica === this.replica) {
      return;
    }
    if (message.type === 'hello') {
      const viewers = this.registry.localViewers(root);
      if (viewers.length > 0) {
        this.publish(root, { type: 'viewers', replica: this.replica, viewers });
      }
      return;
    }
    const expiresAt = Date.now() + 3 * PRESENCE_REFRESH_MS;
    this.registry.setRemote(root, message.replica, message.viewers, expiresAt);
  }

  private refresh(): void {
    for (const root of this.registry.roots()) {
      const viewers = this.registry.localViewers(root);
      this.publish(root, { type: 'viewers', replica: this.replica, viewers });
    }
    this.registry.expire(Date.now());
  }

  private publish(root: string, message: PresenceMessage): void {
    this.bus.publish(presenceChannel(root), message);
  }
}

/**
 * The `session.presence` of a viewer list per conversation, built once per conversation: every
 * stream of a session then shares one event (and one frame, `sharedFrame`).
 */
function presenceEvents(viewers: PresenceViewer[]): (sessionId: string) => StreamEvent {
  const events = new Map<string, StreamEvent>();
  return (sessionId) => {
    let event = events.get(sessionId);
    if (!event) {
      event = normalizeStreamEvent({ type: 'session.presence', viewers }, sessionId);
      events.set(sessionId, event);
    }
    return event;
  };
}
