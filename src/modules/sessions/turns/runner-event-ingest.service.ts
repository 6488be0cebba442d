import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';

import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { isTransientDatabaseError, retryTransient } from 'src/database/transient-error.util';
import { WalFlushWatch } from 'src/database/wal-flush-watch.util';
import { isEventSeq, MAX_SEQ_GAP, Methods, SessionEventParams } from 'src/protocol/runner-protocol';
import {
  InvalidStreamEventError,
  isKnownEventType,
  isTransientEvent,
} from 'src/protocol/stream-events';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { servedBy } from 'src/modules/sessions/turns/runner-binding.util';
import { TurnEventsService } from 'src/modules/sessions/turns/turn-events.service';

const ACK_DELAY_MS = 100;
/** How long a session's binding and fence are trusted for transient events (deltas) without a read. */
const BINDING_CACHE_MS = 1_000;
/** Per-session ingest state is dropped after this long without events. */
const INGEST_IDLE_MS = 60_000;

/** Queued events of one connection before it stops being read, and when reading resumes. */
const INGEST_HIGH_WATER = 4_000;
const INGEST_LOW_WATER = 1_000;
/** Events taken from a connection's queue at a time. */
const INGEST_BATCH = 1_000;
const INGEST_HOLD = 'ingest';
/**
 * Sessions of one batch ingested at once (each in its own unit of work, its events still in
 * order): one after another, a turn's events waited behind every other busy session's
 * transactions on the same runner (50 sessions: ~1 s to the first delta, issue 12).
 */
const INGEST_SESSIONS_AT_ONCE = 4;
/** A unit of work that hit a dropped database connection is retried, backing off up to this… */
const INGEST_RETRY_MAX_MS = 1_000;
/** …this many times; then the channel closes and the runner resends after reconnecting. */
const INGEST_RETRIES = 30;
/** "Internal error": not fatal, so the runner reconnects with backoff. */
const CLOSE_INGEST_FAILED = 1011;

interface ConnectionQueue {
  events: SessionEventParams[];
  draining: boolean;
}

interface SessionIngestState {
  highestSeen: number;
  ackTimer?: NodeJS.Timeout;
  /** The connection the pending ack goes to: a reconnect replaces it (the old one is gone). */
  ackConnection?: RunnerConnection;
  /** The earliest durability epoch of the units the pending ack covers. */
  ackEpoch?: number;
  idleTimer?: NodeJS.Timeout;
  binding?: { session: SessionEntity | null; runnerId: string; at: number };
}

/**
 * The transport of a runner's `session.event`s (spec/runner-protocol.md §6, §7; issue 16
 * finding 3): one session's events in seq order, duplicates skipped, durable runs stored in
 * one unit of work each, acks coalesced, bindings cached for deltas, and per-connection
 * back-pressure. What an event means is TurnEventsService's: this service only delivers it.
 */
@Injectable()
export class RunnerEventIngestService implements OnApplicationBootstrap {
  private readonly logger = new Logger('RunnerEvents');
  private readonly ingest = new Map<string, SessionIngestState>();
  private readonly queues = new WeakMap<RunnerConnection, ConnectionQueue>();
  /** Connections whose ingest gave up: their queued events are resent after a reconnect. */
  private readonly broken = new WeakSet<RunnerConnection>();
  /** Ingest units commit asynchronously; what the runner is told waits for the WAL flush. */
  private readonly asyncCommit: boolean;
  private readonly wal: WalFlushWatch;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly sessions: SessionsRepository,
    private readonly stream: SessionEventsService,
    private readonly turnEvents: TurnEventsService,
  ) {
    this.asyncCommit = config.runners.ingestAsyncCommit;
    this.wal = new WalFlushWatch(() => this.sessions.walPositions());
  }

  /** Take it before work whose durability `durable(epoch)` is to confirm. */
  durabilityEpoch(): number {
    return this.wal.epoch;
  }

  /**
   * Resolves once every ingest unit committed before the call is durable (at once when they
   * commit synchronously): nothing the runner may drop from its outbox can be lost after it.
   * Rejects when PostgreSQL restarted since `epoch` (durabilityEpoch, taken before the work).
   */
  durable(epoch?: number): Promise<void> {
    return this.asyncCommit ? this.wal.flushed(epoch) : Promise.resolve();
  }

  onApplicationBootstrap(): void {
    // Learn which run of PostgreSQL this is before the first unit, so a restart is noticed.
    this.durable().catch((error: Error) =>
      this.logger.warn(`Could not read the WAL position: ${error.message}`),
    );
  }

  /**
   * Events join their connection's queue, drained by one worker in batches: per batch, each
   * session's events in arrival (= seq) order, a run of durable events in one unit of work,
   * INGEST_SESSIONS_AT_ONCE sessions at a time. So one connection holds at most that many
   * database connections for ingest whatever it sends, and
   * past INGEST_HIGH_WATER queued events its socket is not read until the queue drains.
   */
  onSessionEvent(connection: RunnerConnection, params: SessionEventParams): void {
    if (
      !params ||
      typeof params.session_id !== 'string' ||
      !isEventSeq(params.seq) ||
      !params.event ||
      typeof params.event.type !== 'string'
    ) {
      this.logger.warn(`Malformed session.event from ${connection.runnerId}`);
      return;
    }
    let queue = this.queues.get(connection);
    if (!queue) {
      queue = { events: [], draining: false };
      this.queues.set(connection, queue);
    }
    queue.events.push(params);
    if (queue.events.length >= INGEST_HIGH_WATER) {
      connection.holdReading(INGEST_HOLD);
    }
    if (!queue.draining) {
      queue.draining = true;
      // After the frames read with this one: a turn's first events (response.created and
      // response.in_progress, sent together) share one unit of work instead of one each. On
      // the next tick, before promise continuations: the unit's connection checkout and its
      // first statement go out before the POST's 202 when turn.start's answer came in the
      // same read (issue 12: the first delta waits for this unit).
      const draining = queue;
      process.nextTick(() => void this.drain(connection, draining));
    }
  }

  private async drain(connection: RunnerConnection, queue: ConnectionQueue): Promise<void> {
    try {
      while (queue.events.length > 0) {
        if (this.broken.has(connection)) {
          // Applying later events would acknowledge past the one that failed.
          queue.events.length = 0;
          break;
        }
        const batch = queue.events.splice(0, INGEST_BATCH);
        if (queue.events.length <= INGEST_LOW_WATER) {
          connection.releaseReading(INGEST_HOLD);
        }
        const sessions = [...bySession(batch)];
        await Promise.all(
          Array.from({ length: Math.min(INGEST_SESSIONS_AT_ONCE, sessions.length) }, async () => {
            for (let next = sessions.shift(); next; next = sessions.shift()) {
              await this.ingestSession(connection, next[0], next[1]);
            }
          }),
        );
        // Let HTTP requests and other connections in between batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      queue.draining = false;
      connection.releaseReading(INGEST_HOLD);
    }
  }

  /** One session's events of a batch: runs of durable events each in one unit of work. */
  private async ingestSession(
    connection: RunnerConnection,
    sessionId: string,
    events: SessionEventParams[],
  ): Promise<void> {
    const state = this.ingest.get(sessionId) ?? { highestSeen: 0 };
    this.ingest.set(sessionId, state);
    clearTimeout(state.idleTimer);
    try {
      for (const [index, run] of durabilityRuns(events).entries()) {
        // The event type decides durability (runner-protocol §7), whatever flag the runner sent.
        if (isTransientEvent(run[0].event.type)) {
          for (const params of run) {
            state.highestSeen = Math.max(state.highestSeen, params.seq);
            await this.relay(connection, params, state);
          }
          continue;
        }
        if (index > 0) {
          // What the runs before published reaches its streams first (their writes wait for
          // the end of this turn of the event loop): sending the next unit can hand this core
          // to PostgreSQL, and a turn's first delta waited behind its unit (issue 12).
          await new Promise((resolve) => setImmediate(resolve));
        }
        state.binding = undefined;
        const epoch = this.durabilityEpoch();
        const accepted = await this.ingestDurable(connection, sessionId, run, state);
        if (accepted !== null) {
          state.highestSeen = Math.max(state.highestSeen, accepted);
          state.ackEpoch = Math.min(state.ackEpoch ?? epoch, epoch);
          this.scheduleAck(connection, sessionId, state);
        }
      }
    } catch (error) {
      this.logger.error(
        `Ingest of ${sessionId} failed: ${(error as Error).message}`,
        (error as Error).stack,
      );
    } finally {
      state.idleTimer = setTimeout(() => this.ingest.delete(sessionId), INGEST_IDLE_MS);
      state.idleTimer.unref();
    }
  }

  private async relay(
    connection: RunnerConnection,
    params: SessionEventParams,
    state: SessionIngestState,
  ): Promise<void> {
    const event = params.event;
    if (!isKnownEventType(event.type)) {
      return;
    }
    const session = await this.cachedBinding(connection, params.session_id, state);
    if (!session) {
      return;
    }
    try {
      this.turnEvents.relayTransient(session, params.turn_id ?? null, event);
    } catch (error) {
      this.logger.warn(
        `Dropped an invalid ${event.type} from ${connection.runnerId}: ${(error as Error).message}`,
      );
    }
  }

  /**
   * Durable events of one session in one unit of work: each applied (TurnEventsService), logged
   * and acknowledged once; a seq at or below the session's `event_seq` is a duplicate (a resend
   * after a reconnect) and is only acknowledged. Returns the highest seq to acknowledge, null
   * when this runner may not speak for the session. If the database refuses the unit, the
   * events are retried one by one so only the one it refuses is lost.
   */
  private async ingestDurable(
    connection: RunnerConnection,
    sessionId: string,
    run: SessionEventParams[],
    state: SessionIngestState,
  ): Promise<number | null> {
    // A dropped connection loses nothing: the same unit is retried (what committed before the
    // drop is a duplicate by seq), and later events wait behind it, so no later ack skips it.
    try {
      return await retryTransient(() => this.ingestDurableOnce(connection, sessionId, run, state), {
        attempts: INGEST_RETRIES,
        maxDelayMs: INGEST_RETRY_MAX_MS,
        stop: () => !connection.isOpen,
        onRetry: (error) =>
          this.logger.warn(
            `Ingest of ${sessionId} hit a database error (${error.message}); retrying`,
          ),
      });
    } catch (error) {
      if (isTransientDatabaseError(error)) {
        this.broken.add(connection);
        connection.close(CLOSE_INGEST_FAILED, 'event ingest failed; resend after reconnecting');
      }
      throw error;
    }
  }

  private async ingestDurableOnce(
    connection: RunnerConnection,
    sessionId: string,
    run: SessionEventParams[],
    state: SessionIngestState,
  ): Promise<number | null> {
    try {
      return await this.applyDurable(connection, sessionId, run, state);
    } catch (error) {
      if (run.length === 1 || isTransientDatabaseError(error)) {
        throw error;
      }
      let accepted: number | null = null;
      for (const params of run) {
        try {
          const seq = await this.applyDurable(connection, sessionId, [params], state);
          accepted = seq === null ? accepted : Math.max(accepted ?? 0, seq);
        } catch (single) {
          if (isTransientDatabaseError(single)) {
            throw single;
          }
          this.logger.error(
            `Ingest of ${sessionId} seq ${params.seq} failed: ${(single as Error).message}`,
          );
        }
      }
      return accepted;
    }
  }

  private async applyDurable(
    connection: RunnerConnection,
    sessionId: string,
    run: SessionEventParams[],
    state: SessionIngestState,
  ): Promise<number | null> {
    let row: SessionEntity | null = null;
    const accepted = await this.stream.locked(
      sessionId,
      async (s) => {
        const highest = await this.applyRun(connection, s, run);
        row = servedBy(s.row, connection) ? s.row : null;
        return highest;
      },
      // Published at commit; acknowledged after the flush (sendAck), so a crash in between
      // loses nothing the runner dropped: it resends from the stored event_seq (issue 12).
      // Without the locking round trip when the unit before (the POST's, for a turn's first
      // events) was committed here and nothing changed the row since (issue 12: first delta).
      { asyncCommit: this.asyncCommit, optimistic: true },
    );
    if (accepted !== undefined) {
      // Committed: the row as this unit left it is what a read now would return, so the deltas
      // that follow (a turn's first ones right after `response.created`) need no read of it.
      state.binding = { session: row, runnerId: connection.runnerId, at: Date.now() };
    }
    return accepted ?? null;
  }

  private async applyRun(
    connection: RunnerConnection,
    s: LockedSession,
    run: SessionEventParams[],
  ): Promise<number | null> {
    if (!servedBy(s.row, connection)) {
      return null;
    }
    const stored = s.row.eventSeq;
    let applied = stored;
    let highest = 0;
    for (const { seq, event, turn_id: turnId } of run) {
      if (seq <= applied) {
        highest = Math.max(highest, seq);
        continue;
      }
      if (seq > applied + MAX_SEQ_GAP) {
        // Never acknowledged, so an honest runner resends it. Its later events jump too (an
        // honest runner sends in seq order); a hostile runner's out-of-order ones read together
        // with it in one batch still land when they follow `applied` (issue 16, finding 7).
        this.logger.warn(
          `Dropped ${event.type} from ${connection.runnerId}: seq ${seq} jumps past ${applied}`,
        );
        continue;
      }
      highest = seq;
      applied = seq;
      try {
        // Runner input is untrusted until normalised: read it as a plain record.
        await this.turnEvents.applyRunnerEvent(s, { ...event }, turnId ?? null);
      } catch (error) {
        if (!(error instanceof InvalidStreamEventError)) {
          throw error;
        }
        this.logger.warn(
          `Dropped an invalid ${event.type} from ${connection.runnerId}: ${error.message}`,
        );
      }
    }
    if (applied > stored) {
      // Once per unit: the events above read their seqs from `applied`, not from the row.
      s.patch({ eventSeq: applied });
    }
    return highest > 0 ? highest : null;
  }

  private scheduleAck(
    connection: RunnerConnection,
    sessionId: string,
    state: SessionIngestState,
  ): void {
    if (state.ackTimer && state.ackConnection === connection) {
      return;
    }
    clearTimeout(state.ackTimer);
    state.ackConnection = connection;
    state.ackTimer = setTimeout(() => {
      state.ackTimer = undefined;
      state.ackConnection = undefined;
      const epoch = state.ackEpoch;
      state.ackEpoch = undefined;
      void this.sendAck(connection, sessionId, state.highestSeen, epoch);
    }, ACK_DELAY_MS);
    state.ackTimer.unref();
  }

  /**
   * Acknowledges `seq` once what it covers is durable. When that cannot be confirmed, nothing is
   * acknowledged and the channel closes: the runner resends its unacknowledged events after
   * reconnecting, from the `event_seq` the database kept.
   */
  private async sendAck(
    connection: RunnerConnection,
    sessionId: string,
    seq: number,
    epoch: number | undefined,
  ) {
    try {
      await this.durable(epoch);
    } catch (error) {
      this.logger.warn(`No ack for ${sessionId}: WAL flush unknown (${(error as Error).message})`);
      this.broken.add(connection);
      connection.close(
        CLOSE_INGEST_FAILED,
        'event ingest not confirmed; resend after reconnecting',
      );
      return;
    }
    if (connection.isOpen) {
      connection.notify(Methods.sessionAck, { session_id: sessionId, seq });
    }
  }

  private async cachedBinding(
    connection: RunnerConnection,
    sessionId: string,
    state: SessionIngestState,
  ): Promise<SessionEntity | null> {
    const cached = state.binding;
    if (
      cached &&
      cached.runnerId === connection.runnerId &&
      Date.now() - cached.at < BINDING_CACHE_MS
    ) {
      return cached.session;
    }
    const row = await this.sessions.getById(sessionId);
    const session = row && servedBy(row, connection) ? row : null;
    state.binding = { session, runnerId: connection.runnerId, at: Date.now() };
    return session;
  }
}

/** A batch's events per session, each session's in arrival order. */
function bySession(batch: SessionEventParams[]): Map<string, SessionEventParams[]> {
  const sessions = new Map<string, SessionEventParams[]>();
  for (const params of batch) {
    const events = sessions.get(params.session_id) ?? [];
    events.push(params);
    sessions.set(params.session_id, events);
  }
  return sessions;
}

/** Consecutive events split where durability changes, so deltas keep their place in the stream. */
function durabilityRuns(events: SessionEventParams[]): SessionEventParams[][] {
  const runs: SessionEventParams[][] = [];
  for (const params of events) {
    const last = runs.at(-1);
    if (last && isTransientEvent(last[0].event.type) === isTransientEvent(params.event.type)) {
      last.push(params);
    } else {
      runs.push([params]);
    }
  }
  return runs;
}
