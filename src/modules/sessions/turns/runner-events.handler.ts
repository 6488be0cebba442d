import { Injectable, Logger, OnModuleInit } from '@nestjs/common';

import { flattenItem } from 'src/protocol/items';
import { RpcError } from 'src/protocol/json-rpc';
import {
  HelloParams,
  HelloResult,
  Methods,
  RUNNER_RPC_ERROR,
  RunnerErrorCode,
  SessionEventParams,
  SessionHistoryParams,
  SessionHistoryResult,
  ToolAuthorizeParams,
  ToolAuthorizeResult,
  ToolReviewParams,
  ToolReviewResult,
} from 'src/protocol/runner-protocol';
import {
  InvalidStreamEventError,
  isKnownEventType,
  isTransientEvent,
} from 'src/protocol/stream-events';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnerHooks, RunnerSessionHandler } from 'src/modules/runners/runner-hooks';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';

const ACK_DELAY_MS = 100;
/** How long a session's binding and fence are trusted for transient events (deltas) without a read. */
const BINDING_CACHE_MS = 1_000;
/** Per-session ingest state is dropped after this long without events. */
const INGEST_IDLE_MS = 60_000;

interface SessionIngestState {
  chain: Promise<void>;
  highestSeen: number;
  ackTimer?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
  binding?: { session: SessionEntity | null; runnerId: string; at: number };
}

/**
 * The sessions side of the runner channel (spec/runner-protocol.md §6, F1, F7): hello
 * reconciliation, and the transport of `session.event`s (one session's events in seq order,
 * duplicates skipped, acks coalesced, bindings cached for deltas), `tool.authorize` and
 * `session.history`. What an event means is TurnsService's: this handler only delivers it.
 */
@Injectable()
export class RunnerEventsHandler implements RunnerSessionHandler, OnModuleInit {
  private readonly logger = new Logger('RunnerEvents');
  private readonly ingest = new Map<string, SessionIngestState>();

  constructor(
    private readonly hooks: RunnerHooks,
    private readonly items: ItemsRepository,
    private readonly policyHooks: TurnPolicyHooks,
    private readonly runnerLink: RunnerLinkService,
    private readonly sessions: SessionsRepository,
    private readonly stream: SessionEventsService,
    private readonly turns: TurnsService,
  ) {}

  onModuleInit(): void {
    this.hooks.register(this);
  }

  /** What the runner should do with each session it says it holds: keep it (and resume), or drop it. */
  async onHello(
    connection: RunnerConnection,
    params: HelloParams,
  ): Promise<Pick<HelloResult, 'sessions' | 'verdicts'>> {
    const held = await this.sessions.getMany(params.sessions.map((s) => s.session_id));
    const bound = new Map(held.filter((s) => servedBy(s, connection)).map((s) => [s.id, s]));
    return {
      sessions: params.sessions.map((claim) => {
        const session = bound.get(claim.session_id);
        return session
          ? { session_id: session.id, last_acked_seq: session.eventSeq, action: 'keep' as const }
          : { session_id: claim.session_id, last_acked_seq: 0, action: 'drop' as const };
      }),
      verdicts: await (this.policyHooks.get()?.verdictsFor(
        [...bound.keys()],
        params.sessions.flatMap((s) => s.parked_elicitations ?? []),
      ) ?? []),
    };
  }

  /**
   * Sessions that need the runner now (mid-turn) and that it does not hold get `session.init`
   * (F1). Idle ones are initialised on demand: `turn.start` re-inits a session the runner does
   * not know, so a restarted runner is not handed every session it ever served.
   */
  afterHello(connection: RunnerConnection): void {
    const held = new Set((connection.hello?.sessions ?? []).map((s) => s.session_id));
    void this.sessions.listBusyOnRunner(connection.runnerId, connection.ownerId).then(
      (busy) =>
        busy.filter((s) => !held.has(s.id)).forEach((s) => this.runnerLink.initInBackground(s)),
      (error: Error) =>
        this.logger.warn(`Could not list sessions of ${connection.runnerId}: ${error.message}`),
    );
  }

  onDisconnect(connection: RunnerConnection): void {
    // Nothing fails yet: a runner that comes back within the grace resumes its turns; the sweeper
    // fails mid-turn sessions of runners that don't (F7).
    this.logger.debug(`Runner ${connection.runnerId} left; sessions wait for the grace period`);
  }

  async onToolAuthorize(
    connection: RunnerConnection,
    params: ToolAuthorizeParams,
  ): Promise<ToolAuthorizeResult> {
    const session = await this.requireBound(connection, params?.session_id);
    const gate = this.policyHooks.get();
    return gate ? gate.authorizeToolCall(session, params) : { decision: 'allow' };
  }

  async onToolReview(
    connection: RunnerConnection,
    params: ToolReviewParams,
  ): Promise<ToolReviewResult> {
    const session = await this.requireBound(connection, params?.session_id);
    const gate = this.policyHooks.get();
    return gate ? gate.reviewToolResult(session, params) : { decision: 'allow' };
  }

  async onSessionHistory(
    connection: RunnerConnection,
    params: SessionHistoryParams,
  ): Promise<SessionHistoryResult> {
    await this.requireBound(connection, params?.session_id);
    const limit = Math.min(Math.max(Number(params.limit) || 1000, 1), 1000);
    const page = await this.items.page(params.session_id, {
      limit,
      order: 'asc',
      after: params.after,
    });
    return { items: (page?.rows ?? []).map(flattenItem), has_more: page?.hasMore ?? false };
  }

  /** Events of one session are processed one at a time, in arrival (= seq) order. */
  onSessionEvent(connection: RunnerConnection, params: SessionEventParams): void {
    if (
      !params ||
      typeof params.session_id !== 'string' ||
      !Number.isInteger(params.seq) ||
      !params.event
    ) {
      this.logger.warn(`Malformed session.event from ${connection.runnerId}`);
      return;
    }
    const key = params.session_id;
    const state = this.ingest.get(key) ?? { chain: Promise.resolve(), highestSeen: 0 };
    this.ingest.set(key, state);
    clearTimeout(state.idleTimer);
    state.chain = state.chain
      .then(() => this.process(connection, params, state))
      .catch((error: Error) =>
        this.logger.error(
          `Ingest of ${key} seq ${params.seq} failed: ${error.message}`,
          error.stack,
        ),
      )
      .finally(() => {
        clearTimeout(state.idleTimer);
        state.idleTimer = setTimeout(() => this.ingest.delete(key), INGEST_IDLE_MS);
        state.idleTimer.unref();
      });
  }

  private async process(
    connection: RunnerConnection,
    params: SessionEventParams,
    state: SessionIngestState,
  ): Promise<void> {
    const sessionId = params.session_id;
    const event = params.event;
    // The event type decides durability (runner-protocol §7), whatever flag the runner sent.
    if (!isTransientEvent(event.type)) {
      state.binding = undefined;
      const accepted = await this.ingestDurable(connection, params);
      if (accepted) {
        state.highestSeen = Math.max(state.highestSeen, params.seq);
        this.scheduleAck(connection, sessionId, state);
      }
      return;
    }
    state.highestSeen = Math.max(state.highestSeen, params.seq);
    if (!isKnownEventType(event.type)) {
      return;
    }
    const session = await this.cachedBinding(connection, sessionId, state);
    if (!session) {
      return;
    }
    try {
      this.turns.relayTransient(session, params.turn_id ?? null, event);
    } catch (error) {
      this.logger.warn(
        `Dropped an invalid ${event.type} from ${connection.runnerId}: ${(error as Error).message}`,
      );
    }
  }

  /**
   * One durable event in one unit of work: applied (by TurnsService), logged and acknowledged
   * once; a seq at or below the session's `event_seq` is a duplicate (a resend after a
   * reconnect) and is only acknowledged. False when this runner may not speak for the session.
   */
  private async ingestDurable(
    connection: RunnerConnection,
    params: SessionEventParams,
  ): Promise<boolean> {
    const { session_id: sessionId, seq, event } = params;
    const accepted = await this.stream.locked(sessionId, async (s) => {
      if (!servedBy(s.row, connection)) {
        return false;
      }
      if (seq <= s.row.eventSeq) {
        return true;
      }
      try {
        // Runner input is untrusted until normalised: read it as a plain record.
        await this.turns.applyRunnerEvent(s, { ...event }, params.turn_id ?? null);
      } catch (error) {
        if (!(error instanceof InvalidStreamEventError)) {
          throw error;
        }
        this.logger.warn(
          `Dropped an invalid ${event.type} from ${connection.runnerId}: ${error.message}`,
        );
      }
      s.patch({ eventSeq: seq });
      return true;
    });
    return accepted ?? false;
  }

  private scheduleAck(
    connection: RunnerConnection,
    sessionId: string,
    state: SessionIngestState,
  ): void {
    if (state.ackTimer) {
      return;
    }
    state.ackTimer = setTimeout(() => {
      state.ackTimer = undefined;
      if (connection.isOpen) {
        connection.notify(Methods.sessionAck, { session_id: sessionId, seq: state.highestSeen });
      }
    }, ACK_DELAY_MS);
    state.ackTimer.unref();
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
    const session = await this.boundSession(connection, sessionId);
    state.binding = { session, runnerId: connection.runnerId, at: Date.now() };
    return session;
  }

  private async boundSession(
    connection: RunnerConnection,
    sessionId: string,
  ): Promise<SessionEntity | null> {
    const session = await this.sessions.getById(sessionId);
    return session && servedBy(session, connection) ? session : null;
  }

  private async requireBound(
    connection: RunnerConnection,
    sessionId: string | undefined,
  ): Promise<SessionEntity> {
    const session =
      typeof sessionId === 'string' ? await this.boundSession(connection, sessionId) : null;
    if (!session) {
      throw new RpcError(
        RUNNER_RPC_ERROR[RunnerErrorCode.SessionUnknown],
        `Session ${sessionId} is not bound to this runner`,
        { code: RunnerErrorCode.SessionUnknown },
      );
    }
    return session;
  }
}

/** A connection speaks for a session only when it is the session's runner and its owner's. */
function servedBy(session: SessionEntity, connection: RunnerConnection): boolean {
  return session.runnerId === connection.runnerId && session.ownerId === connection.ownerId;
}
