import { Injectable, Logger, OnModuleInit } from '@nestjs/common';

import { flattenItem } from 'src/protocol/items';
import { RpcError } from 'src/protocol/json-rpc';
import {
  HelloParams,
  HelloResult,
  HelloSession,
  isEventSeq,
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
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnerHooks, RunnerSessionHandler } from 'src/modules/runners/runner-hooks';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { servedBy } from 'src/modules/sessions/turns/runner-binding.util';
import { RunnerEventIngestService } from 'src/modules/sessions/turns/runner-event-ingest.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';

/**
 * The sessions side of the runner channel (spec/runner-protocol.md §6, F1, F7): hello
 * reconciliation, `tool.authorize`/`tool.review` and `session.history`; `session.event`s go to
 * RunnerEventIngestService.
 */
@Injectable()
export class RunnerEventsHandler implements RunnerSessionHandler, OnModuleInit {
  private readonly logger = new Logger('RunnerEvents');
  /** Between hello and afterHello: busy sessions of this runner that it does not hold. */
  private readonly lostTurns = new WeakMap<RunnerConnection, SessionEntity[]>();

  constructor(
    private readonly hooks: RunnerHooks,
    private readonly ingest: RunnerEventIngestService,
    private readonly items: ItemsRepository,
    private readonly policyHooks: TurnPolicyHooks,
    private readonly sessions: SessionsRepository,
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
    const epoch = this.ingest.durabilityEpoch();
    const [held, busy] = await Promise.all([
      this.sessions.getMany(params.sessions.map((s) => s.session_id)),
      this.sessions.listBusyOnRunner(connection.runnerId, connection.ownerId),
    ]);
    // `last_acked_seq` lets the runner drop events: only once the event_seq read is durable.
    await this.ingest.durable(epoch);
    const bound = new Map(held.filter((s) => servedBy(s, connection)).map((s) => [s.id, s]));
    const claims = new Map(params.sessions.map((s) => [s.session_id, s]));
    this.lostTurns.set(
      connection,
      busy.filter((s) => lostTurn(s, claims.get(s.id))),
    );
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
   * A session busy on this runner (as read at hello) that the runner does not hold lost its turn:
   * the runner restarted (a crash, or the server's kill -9 took the local runner with it) and
   * came back within the grace, so the sweeper will not fail it and nobody else would (finding
   * 4). So does one it holds with no turn and nothing to replay: the server recorded the turn and
   * died before `turn.start` got out (see `lostTurn`). The turn fails now, with its error item;
   * the next message re-initialises the session.
   * Sessions the runner holds resume: it replays their events, the terminal one included.
   */
  afterHello(connection: RunnerConnection): void {
    const lost = this.lostTurns.get(connection) ?? [];
    this.lostTurns.delete(connection);
    // Turns started on this connection after it was registered are live, though the busy read
    // saw them and the hello (sent before they existed) did not claim them.
    const started = connection.endHelloWindow();
    for (const session of lost) {
      if (session.currentTurnId && started.has(session.currentTurnId)) {
        continue;
      }
      this.turns
        .fail(
          session.id,
          session.currentTurnId,
          {
            code: 'runner_restarted',
            message: `The runner ${connection.runnerId} restarted during the turn and lost it`,
          },
          { ifCurrent: true },
        )
        .catch((error: Error) =>
          this.logger.warn(`Could not fail the lost turn of ${session.id}: ${error.message}`),
        );
    }
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

  /** Queued and stored by the ingest service (one worker per connection, batched). */
  onSessionEvent(connection: RunnerConnection, params: SessionEventParams): void {
    this.ingest.onSessionEvent(connection, params);
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

/**
 * Whether a session busy on this runner lost its turn, by what the hello says of it: not held at
 * all (the runner restarted), or held with no turn running and nothing left to send (a server
 * killed after recording the turn as running but before `turn.start` reached the runner). A
 * runner with unacknowledged events may be about to replay the turn's end: it keeps the turn.
 */
function lostTurn(session: SessionEntity, claim: HelloSession | undefined): boolean {
  if (!claim) {
    return true;
  }
  return (
    session.currentTurnId !== null &&
    !claim.turn &&
    isEventSeq(claim.next_seq) &&
    claim.next_seq <= session.eventSeq + 1
  );
}
