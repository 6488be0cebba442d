import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  MessageEvent,
} from '@nestjs/common';
import {
  concatMap,
  defer,
  EMPTY,
  expand,
  finalize,
  map,
  merge,
  Observable,
  Subject,
  takeWhile,
  tap,
} from 'rxjs';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { EventBus, sessionChannel } from 'src/common/bus/event-bus';
import { eventStream, hold } from 'src/common/sse/event-stream';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { normalizeStreamEvent, StreamEvent, StreamEvents } from 'src/protocol/stream-events';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import {
  LoggedEvent,
  SessionEventsRepository,
} from 'src/modules/sessions/stream/session-events.repository';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { PresenceSeat, PresenceService } from 'src/modules/sessions/presence/presence.service';
import { SessionsRepository, UnitOptions } from 'src/modules/sessions/sessions.repository';
import { SessionBusMessage } from 'src/modules/sessions/stream/session.events';
import { StreamSnapshotService } from 'src/modules/sessions/stream/stream-snapshot.service';

const REPLAY_PAGE = 500;

/** A committed unit of work on a sub-agent's session (what its parent's rail reacts to). */
export interface ChildUnit {
  before: SessionEntity;
  after: SessionEntity & { parentSessionId: string };
  events: StreamEvent[];
}

/**
 * Owns the session streams (style rule 19): publishing through the bus once a unit of work has
 * logged its events (`locked`), transient events, and each client's SSE stream (built by the
 * one stream pipeline, `src/common/sse/event-stream.ts`).
 */
@Injectable()
export class SessionEventsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('SessionStreams');
  private readonly shutdown$ = new Subject<void>();
  private childUnitListener?: (unit: ChildUnit) => void;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: SessionAccessService,
    private readonly bus: EventBus,
    private readonly log: SessionEventsRepository,
    private readonly metrics: MetricsService,
    private readonly presence: PresenceService,
    private readonly quotas: SessionQuotasService,
    private readonly sessions: SessionsRepository,
    private readonly snapshot: StreamSnapshotService,
  ) {}

  /**
   * Runs `work` on the locked session (`SessionsRepository.withLockedSession`: one transaction
   * that also logs the durable events it emits) and publishes its events, in order, once it
   * committed. Resolves undefined when the session does not exist.
   */
  async locked<T>(
    sessionId: string,
    work: (session: LockedSession) => Promise<T>,
    options?: UnitOptions,
  ): Promise<T | undefined> {
    const done = await this.sessions.withLockedSession(sessionId, work, options);
    if (!done) {
      return undefined;
    }
    for (const { seq, event } of done.events) {
      this.publish(sessionId, { kind: 'event', seq, event });
    }
    const { before, after } = done;
    if (after.parentSessionId !== null && this.childUnitListener) {
      this.childUnitListener({
        before,
        after: after as ChildUnit['after'],
        events: done.events.map((e) => e.event),
      });
    }
    return done.result;
  }

  /**
   * Called (synchronously, must not throw) after each committed unit of work on a sub-agent's
   * session: the parent's child-session rail (`ChildRailService`) is its one listener.
   */
  onChildUnit(listener: (unit: ChildUnit) => void): void {
    this.childUnitListener = listener;
  }

  /** Transient events (deltas): published, never logged. */
  publishTransient(sessionId: string, event: StreamEvent): void {
    this.publish(sessionId, {
      kind: 'event',
      seq: null,
      event: normalizeStreamEvent(event, sessionId),
    });
  }

  /** Ends every open stream of the session with [DONE] (the session was deleted). */
  closeStreams(sessionId: string): void {
    this.publish(sessionId, { kind: 'close', reason: 'deleted' });
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Streams end cleanly with [DONE] before the HTTP server closes, so their connections are
    // idle by then and close at once instead of waiting out the keep-alive timeout.
    this.shutdown$.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private publish(sessionId: string, message: SessionBusMessage): void {
    this.bus.publish(sessionChannel(sessionId), message);
  }

  /** The session's bus channel: only `publish` above writes to it. */
  private channel$(sessionId: string): Observable<SessionBusMessage> {
    return this.bus.channel$(sessionChannel(sessionId)) as Observable<SessionBusMessage>;
  }

  /**
   * Checks access and subscribes before returning, so 401/403/404 leave as JSON before any SSE
   * byte and nothing published after this call is missed; the frames are built by the one
   * stream pipeline (`src/common/sse/event-stream.ts`). A deleted session ends with [DONE].
   */
  async openStream(
    principal: AuthPrincipal,
    sessionId: string,
    options: { idle?: boolean; lastEventId?: string },
  ): Promise<Observable<MessageEvent>> {
    const session = await this.access.require(principal, sessionId, SessionLevel.Read);
    // 429 before any SSE byte; the slot is given back when the stream ends or the client leaves.
    const releaseSlot = this.quotas.openStream(principal.userId);
    const live = hold(this.channel$(sessionId));
    let current: number | null;
    try {
      // Redis subscribes asynchronously: the seq is read once the subscription is live.
      await this.bus.subscribed();
      current = await this.log.currentSeq(sessionId);
    } catch (error) {
      live.release();
      releaseSlot();
      throw error;
    }
    const seat = this.presence.seat(principal, session, options.idle ?? false);
    const stream$ = eventStream<StreamEvent>({
      // A deleted session's channel says `close`: the stream ends there, with [DONE].
      live$: merge(live, presenceChanges(seat)).pipe(
        takeWhile(
          (message): message is Extract<SessionBusMessage, { kind: 'event' }> =>
            message.kind === 'event',
        ),
      ),
      startSeq: current ?? 0,
      lastEventId: parseLastEventId(options.lastEventId),
      replay: (after, upTo) => this.replay(sessionId, after, upTo),
      oldestSeq: () => this.log.oldestSeq(sessionId),
      heartbeat: () => StreamEvents.heartbeat(),
      snapshot: () => this.snapshot.frames(session, seat),
      reset: () => StreamEvents.reset(sessionId),
      heartbeatMs: this.config.sse.heartbeatMs,
      end$: this.shutdown$,
      onError: (error) =>
        this.logger.error(
          `Stream of ${sessionId} failed: ${(error as Error).message}`,
          (error as Error).stack,
        ),
    });
    // Counted here, not by an interceptor on the @Sse route: one there turns the JSON 401/404
    // above into a 200 stream. The gauge rises on subscription (headers out), falls at the end.
    const route = { route: '/v1/sessions/:session_id/stream' };
    return defer(() => {
      this.metrics.openStreams.inc(route);
      const leave = seat?.join();
      return stream$.pipe(
        tap(() => this.metrics.framesSent.inc(route)),
        finalize(() => {
          leave?.();
          this.metrics.openStreams.dec(route);
        }),
      );
    }).pipe(finalize(releaseSlot));
  }

  /** The log after `after` up to `upTo`, read page by page as the stream consumes it. */
  private replay(sessionId: string, after: number, upTo: number): Observable<LoggedEvent> {
    const page = (from: number) => defer(() => this.log.range(sessionId, from, upTo, REPLAY_PAGE));
    return page(after).pipe(
      expand((rows) =>
        rows.length === REPLAY_PAGE && rows[rows.length - 1].seq < upTo
          ? page(rows[rows.length - 1].seq)
          : EMPTY,
      ),
      concatMap((rows) => rows),
    );
  }
}

/** The seat's presence changes as transient events on the stream (none without a seat). */
function presenceChanges(seat: PresenceSeat | null): Observable<SessionBusMessage> {
  return seat
    ? seat.changes$.pipe(map((event): SessionBusMessage => ({ kind: 'event', seq: null, event })))
    : EMPTY;
}

function parseLastEventId(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,15}$/.test(value.trim())) {
    return null;
  }
  return Number(value.trim());
}
