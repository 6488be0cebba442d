import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  MessageEvent,
} from '@nestjs/common';
import { Observable } from 'rxjs';
import { EntityManager } from 'typeorm';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { EventBus, sessionChannel } from 'src/common/bus/event-bus';
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
  private readonly openStreams = new Set<() => Promise<void>>();

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
    await Promise.all([...this.openStreams].map((finish) => finish()));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private publish(sessionId: string, message: StreamBusMessage): void {
    this.bus.publish(sessionChannel(sessionId), message);
  }

  /**
   * Checks access and subscribes before returning, so 401/403/404 leave as JSON before any SSE
   * byte and nothing published after this call is missed. The frames: `session.heartbeat` (the
   * subscription ack), the replay after Last-Event-ID (or `stream.reset` if pruned), then live.
   * Every frame carries an id: its seq for durable events, the last seq sent for the rest.
   */
  async openStream(
    principal: AuthPrincipal,
    sessionId: string,
    options: { lastEventId?: string },
  ): Promise<Observable<MessageEvent>> {
    await this.access.require(principal, sessionId, SessionLevel.Read);
    const buffered: StreamBusMessage[] = [];
    let deliver: ((message: StreamBusMessage) => void) | null = null;
    const unsubscribe = this.bus.subscribe(sessionChannel(sessionId), (message) =>
      deliver ? deliver(message as StreamBusMessage) : buffered.push(message as StreamBusMessage),
    );
    let current: number | null;
    try {
      current = await this.log.currentSeq(sessionId);
    } catch (error) {
      unsubscribe();
      throw error;
    }
    const startSeq = current ?? 0;
    const requested = parseLastEventId(options.lastEventId);

    return new Observable<MessageEvent>((subscriber) => {
      let last = requested === null ? startSeq : Math.min(requested, startSeq);
      let closed = false;
      let chain: Promise<void> = Promise.resolve();
      let heartbeat: NodeJS.Timeout | undefined;

      const write = (event: StreamEvent, id: number) => {
        subscriber.next({ type: event.type, id: String(id), data: JSON.stringify(event) });
        armHeartbeat();
      };
      const armHeartbeat = () => {
        clearTimeout(heartbeat);
        heartbeat = setTimeout(
          () => enqueue(() => write(StreamEvents.heartbeat(), last)),
          this.config.sse.heartbeatMs,
        );
      };
      const finish = () => {
        enqueue(() => {
          subscriber.next({ data: '[DONE]', id: String(last) });
          subscriber.complete();
          closed = true;
        });
        return chain;
      };
      // Frames are produced one at a time, in order, even when one needs a database read.
      const enqueue = (step: () => void | Promise<void>) => {
        chain = chain
          .then(() => (closed ? undefined : step()))
          .catch((error: unknown) => {
            // Headers are out: end the connection (no [DONE]) so the client reconnects and resumes.
            this.logger.error(
              `Stream of ${sessionId} failed: ${(error as Error).message}`,
              (error as Error).stack,
            );
            closed = true;
            subscriber.complete();
          });
      };
      const replay = async (after: number, upTo: number) => {
        let from = after;
        while (from < upTo && !closed) {
          const page: LoggedEvent[] = await this.log.range(sessionId, from, upTo, REPLAY_PAGE);
          if (page.length === 0) {
            break;
          }
          for (const logged of page) {
            write(logged.event, logged.seq);
          }
          from = page[page.length - 1].seq;
        }
        last = Math.max(last, upTo);
      };
      const handle = async (message: StreamBusMessage) => {
        if (message.kind === 'close') {
          subscriber.next({ data: '[DONE]', id: String(last) });
          subscriber.complete();
          closed = true;
          return;
        }
        if (message.seq === null) {
          write(message.event, last);
          return;
        }
        if (message.seq <= last) {
          return;
        }
        if (message.seq > last + 1) {
          // Published out of order (concurrent writers): fill the gap from the log first.
          await replay(last, message.seq - 1);
        }
        write(message.event, message.seq);
        last = message.seq;
      };

      enqueue(async () => {
        write(StreamEvents.heartbeat(), last);
        if (requested !== null && requested < startSeq) {
          const oldest = await this.log.oldestSeq(sessionId);
          if (oldest === null || oldest > requested + 1) {
            last = startSeq;
            write(normalizeStreamEvent({ type: 'stream.reset' }, sessionId), last);
          } else {
            await replay(requested, startSeq);
          }
        }
        deliver = (message) => enqueue(() => handle(message));
        for (const message of buffered.splice(0)) {
          deliver(message);
        }
      });
      this.openStreams.add(finish);

      return () => {
        closed = true;
        clearTimeout(heartbeat);
        unsubscribe();
        this.openStreams.delete(finish);
      };
    });
  }
}

function parseLastEventId(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,15}$/.test(value.trim())) {
    return null;
  }
  return Number(value.trim());
}
