import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  MessageEvent,
} from '@nestjs/common';
import { concatMap, defer, EMPTY, expand, map, Observable, Subject, takeWhile } from 'rxjs';
import { EntityManager } from 'typeorm';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { EventBus, sessionChannel } from 'src/common/bus/event-bus';
import { eventStream, hold } from 'src/common/sse/event-stream';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import {
  isTransientEvent,
  normalizeStreamEvent,
  StreamEvent,
  StreamEvents,
} from 'src/protocol/stream-events';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import {
  LoggedEvent,
  SessionEventsRepository,
} from 'src/modules/sessions/session-events.repository';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';

/** What travels on a session's bus channel `s:{id}`. */
export type StreamBusMessage =
  { kind: 'event'; seq: number | null; event: StreamEvent } | { kind: 'close'; reason: 'deleted' };

export interface StreamTransaction {
  manager: EntityManager;
  /** Queues an event: durable ones are logged when the work is done, all published after commit. */
  emit(event: StreamEvent): void;
}

const REPLAY_PAGE = 500;

/**
 * Owns the session streams (style rule 19): numbering and logging of durable events, publishing
 * through the bus, and the SSE frame source with heartbeats, Last-Event-ID replay and [DONE].
 */
@Injectable()
export class SessionEventsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('SessionStreams');
  private readonly shutdown$ = new Subject<void>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: SessionAccessService,
    private readonly bus: EventBus,
    private readonly log: SessionEventsRepository,
    private readonly sessions: SessionsRepository,
  ) {}

  /**
   * Runs `work` in one transaction with the events it queues: durable events get their stream seq
   * and a log row in that same transaction, so "persisted" and "logged" never disagree; every
   * queued event is published, in order, only after the commit.
   */
  async commit<T>(sessionId: string, work: (tx: StreamTransaction) => Promise<T>): Promise<T> {
    const queued: StreamEvent[] = [];
    const { result, logged } = await this.sessions.transaction(async (manager) => {
      const value = await work({
        manager,
        emit: (event) => queued.push(normalizeStreamEvent(event, sessionId)),
      });
      const durable = queued.filter((e) => !isTransientEvent(e.type));
      return { result: value, logged: await this.log.append(manager, sessionId, durable) };
    });
    const seqs = new Map<StreamEvent, number>(logged.map((l) => [l.event, l.seq]));
    for (const event of queued) {
      this.publish(sessionId, { kind: 'event', seq: seqs.get(event) ?? null, event });
    }
    return result;
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

  private publish(sessionId: string, message: StreamBusMessage): void {
    this.bus.publish(sessionChannel(sessionId), message);
  }

  /**
   * Checks access and subscribes before returning, so 401/403/404 leave as JSON before any SSE
   * byte and nothing published after this call is missed; the frames are built by the one
   * stream pipeline (`src/common/sse/event-stream.ts`). A deleted session ends with [DONE].
   */
  async openStream(
    principal: AuthPrincipal,
    sessionId: string,
    options: { lastEventId?: string },
  ): Promise<Observable<MessageEvent>> {
    await this.access.require(principal, sessionId, SessionLevel.Read);
    const live = hold(this.bus.channel$(sessionChannel(sessionId)) as Observable<StreamBusMessage>);
    let current: number | null;
    try {
      current = await this.log.currentSeq(sessionId);
    } catch (error) {
      live.release();
      throw error;
    }
    return eventStream<StreamEvent>({
      live$: live.pipe(
        takeWhile((message) => message.kind === 'event'),
        map((message) => message as Extract<StreamBusMessage, { kind: 'event' }>),
      ),
      startSeq: current ?? 0,
      lastEventId: parseLastEventId(options.lastEventId),
      replay: (after, upTo) => this.replay(sessionId, after, upTo),
      oldestSeq: () => this.log.oldestSeq(sessionId),
      heartbeat: () => StreamEvents.heartbeat(),
      reset: () => normalizeStreamEvent({ type: 'stream.reset' }, sessionId),
      heartbeatMs: this.config.sse.heartbeatMs,
      end$: this.shutdown$,
      onError: (error) =>
        this.logger.error(
          `Stream of ${sessionId} failed: ${(error as Error).message}`,
          (error as Error).stack,
        ),
    });
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

function parseLastEventId(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,15}$/.test(value.trim())) {
    return null;
  }
  return Number(value.trim());
}
