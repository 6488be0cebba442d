import { Injectable, Logger, OnModuleInit } from '@nestjs/common';

import { IdPrefix, isItemId, newId } from 'src/common/ids/ids';
import { flattenItem, unflattenItem } from 'src/protocol/items';
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
} from 'src/protocol/runner-protocol';
import {
  InvalidStreamEventError,
  isKnownEventType,
  isTransientEvent,
  normalizeStreamEvent,
  RawStreamEvent,
  TerminalResponseEvent,
} from 'src/protocol/stream-events';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnerHooks, RunnerSessionHandler } from 'src/modules/runners/runner-hooks';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { RunnerLink } from 'src/modules/sessions/runner-link.service';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';

/** Runner-emitted event types that are never relayed (the server owns them: runner-protocol §6 rule 6). */
const SERVER_OWNED_EVENTS = new Set([
  'response.elicitation_request',
  'response.elicitation_resolved',
  'session.input.consumed',
  'session.interrupted',
]);
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
 * What runner traffic means for sessions (spec/runner-protocol.md §6, F1, F7): hello
 * reconciliation, the ordered and idempotent ingest of `session.event`s with coalesced acks,
 * `tool.authorize` and `session.history`.
 */
@Injectable()
export class RunnerBridgeService implements RunnerSessionHandler, OnModuleInit {
  private readonly logger = new Logger('RunnerBridge');
  private readonly ingest = new Map<string, SessionIngestState>();

  constructor(
    private readonly events: SessionEventsService,
    private readonly hooks: RunnerHooks,
    private readonly items: ItemsRepository,
    private readonly runnerLink: RunnerLink,
    private readonly sessions: SessionsRepository,
  ) {}

  onModuleInit(): void {
    this.hooks.register(this);
  }

  async onHello(
    connection: RunnerConnection,
    params: HelloParams,
  ): Promise<Pick<HelloResult, 'sessions' | 'verdicts'>> {
    const bound = new Map(
      (await this.sessions.listBoundToRunner(connection.runnerId, connection.ownerId)).map((s) => [
        s.id,
        s,
      ]),
    );
    return {
      sessions: params.sessions.map((held) => {
        const session = bound.get(held.session_id);
        return session
          ? { session_id: session.id, last_acked_seq: session.eventSeq, action: 'keep' as const }
          : { session_id: held.session_id, last_acked_seq: 0, action: 'drop' as const };
      }),
      verdicts: [],
    };
  }

  /** Sessions bound to the runner that it does not hold yet get `session.init` (F1). */
  afterHello(connection: RunnerConnection): void {
    const held = new Set((connection.hello?.sessions ?? []).map((s) => s.session_id));
    void this.sessions.listBoundToRunner(connection.runnerId, connection.ownerId).then(
      (sessions) =>
        sessions.filter((s) => !held.has(s.id)).forEach((s) => this.runnerLink.initInBackground(s)),
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
    await this.requireBound(connection, params?.session_id);
    return { decision: 'allow' };
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
    if (!isKnownEventType(event.type) || SERVER_OWNED_EVENTS.has(event.type)) {
      return;
    }
    const session = await this.cachedBinding(connection, sessionId, state);
    if (!session || (params.turn_id && session.cancelRequestedTurnId === params.turn_id)) {
      // Fenced: the turn was interrupted; its trailing deltas are dropped.
      return;
    }
    try {
      this.events.publishTransient(sessionId, event);
    } catch (error) {
      this.logger.warn(
        `Dropped an invalid ${event.type} from ${connection.runnerId}: ${(error as Error).message}`,
      );
    }
  }

  /** Persists one durable event and logs it, in one transaction; duplicates (seq ≤ event_seq) are skipped. */
  private async ingestDurable(
    connection: RunnerConnection,
    params: SessionEventParams,
  ): Promise<boolean> {
    const { session_id: sessionId, seq, event } = params;
    const accepted = await this.events.locked(sessionId, async (s) => {
      if (!servedBy(s.row, connection)) {
        return false;
      }
      if (seq <= s.row.eventSeq) {
        return true;
      }
      try {
        await this.apply(s, params);
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

  /**
   * What a durable runner event means for the session. Exhaustive over the event union, so a
   * new upstream event type fails lint until it is decided here.
   */
  private async apply(s: LockedSession, params: SessionEventParams): Promise<void> {
    // Runner input is untrusted until normalised: read it as a plain record.
    const raw: RawStreamEvent = { ...params.event };
    const turnId = params.turn_id ?? null;
    if (!isKnownEventType(raw.type)) {
      throw new InvalidStreamEventError(`unknown event type '${raw.type}'`);
    }
    const event = normalizeStreamEvent(raw, s.id);
    switch (event.type) {
      case 'session.status': {
        const status = event.status;
        if (status === 'launching') {
          throw new InvalidStreamEventError(`invalid session status '${status}'`);
        }
        s.patch({ liveStatus: status });
        if (status === 'running') {
          s.patch({ lastError: null });
        }
        if (status === 'failed') {
          s.patch({ lastError: failureOf(raw.error) });
        }
        if (status === 'idle' || status === 'failed') {
          s.patch({ currentTurnId: null, cancelRequestedTurnId: null });
        }
        break;
      }
      case 'response.created':
      case 'response.in_progress':
        s.patch({ currentTurnId: event.response.id });
        break;
      case 'response.output_item.done': {
        const parsed = unflattenItem(event.item);
        if ('error' in parsed || !isItemId(parsed.item.id)) {
          throw new InvalidStreamEventError('error' in parsed ? parsed.error : 'invalid item id');
        }
        const [stored] = await s.upsertItems([
          { ...parsed.item, response_id: turnId ?? parsed.item.response_id, created_by: null },
        ]);
        if (!stored) {
          throw new InvalidStreamEventError(
            `item ${parsed.item.id} conflicts with an existing item`,
          );
        }
        s.emit('response.output_item.done', { item: flattenItem(stored) });
        return;
      }
      case 'response.completed':
      case 'response.failed':
      case 'response.incomplete':
      case 'response.cancelled':
        await this.finishResponse(s, event, raw);
        break;
      // Never relayed: the server owns these (runner-protocol §6 rule 6), transient types never
      // get here (durability is decided by type), and stream.reset is ours.
      case 'response.elicitation_request':
      case 'response.elicitation_resolved':
      case 'session.input.consumed':
      case 'session.interrupted':
      case 'response.output_text.delta':
      case 'response.function_call_output.delta':
      case 'response.reasoning.started':
      case 'response.reasoning_text.delta':
      case 'response.reasoning_summary_text.delta':
      case 'session.heartbeat':
      case 'response.heartbeat':
      case 'session.presence':
      case 'session.terminal.activity':
      case 'stream.reset':
        return;
      // Relayed as they are.
      case 'browser.action_request':
      case 'response.client_task.cancel':
      case 'response.compaction.completed':
      case 'response.compaction.failed':
      case 'response.compaction.in_progress':
      case 'response.error':
      case 'response.output_file.done':
      case 'response.policy_denied':
      case 'response.queued':
      case 'response.retry':
      case 'session.agent_changed':
      case 'session.changed_files.invalidated':
      case 'session.child_session.updated':
      case 'session.collaboration_mode':
      case 'session.created':
      case 'session.mcp_startup':
      case 'session.model':
      case 'session.model_options':
      case 'session.permission_mode':
      case 'session.reasoning_effort':
      case 'session.resource.created':
      case 'session.resource.deleted':
      case 'session.sandbox_status':
      case 'session.skills':
      case 'session.superseded':
      case 'session.terminal_pending':
      case 'session.title':
      case 'session.todos':
      case 'session.usage':
      case 'turn.cancelled':
      case 'turn.completed':
      case 'turn.failed':
      case 'turn.started':
        break;
    }
    s.relay(event);
  }

  /** A terminal `response.*`: the turn is over; a failure also becomes an error item. */
  private async finishResponse(
    s: LockedSession,
    event: TerminalResponseEvent,
    raw: RawStreamEvent,
  ): Promise<void> {
    const { response } = event;
    if (s.row.currentTurnId === response.id) {
      s.patch({ currentTurnId: null });
    }
    if (typeof response.usage?.total_tokens === 'number') {
      s.patch({ lastTotalTokens: response.usage.total_tokens });
    }
    if (event.type === 'response.failed') {
      const rawResponse = raw.response as { error?: unknown } | undefined;
      const [stored] = await s.upsertItems([
        {
          id: newId(IdPrefix.Error),
          response_id: response.id,
          type: 'error',
          status: 'completed',
          created_by: null,
          data: { source: 'execution', ...failureOf(rawResponse?.error) },
        },
      ]);
      s.emit('response.output_item.done', { item: flattenItem(stored) });
    }
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

/** The code and message of a runner-reported failure, with the defaults a partial one gets. */
function failureOf(error: unknown): { code: string; message: string } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  return {
    code: typeof e.code === 'string' ? e.code : 'runner_error',
    message: typeof e.message === 'string' ? e.message : 'The turn failed',
  };
}

/** A connection speaks for a session only when it is the session's runner and its owner's. */
function servedBy(session: SessionEntity, connection: RunnerConnection): boolean {
  return session.runnerId === connection.runnerId && session.ownerId === connection.ownerId;
}
