import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, newId, normalizeId } from 'src/common/ids/ids';
import { APP_CONFIG } from 'src/config/config.constants';
import type { AppConfig } from 'src/config/app-config';
import {
  ElicitationAction,
  ElicitationResolveParams,
  Methods,
  Timeouts,
} from 'src/protocol/runner-protocol';
import { ElicitationRequestParams } from 'src/protocol/stream-event-types';
import {
  ElicitationEntity,
  ElicitationResolution,
  ElicitationStatus,
} from 'src/modules/policies/elicitation.entity';
import { ElicitationsRepository } from 'src/modules/policies/elicitations.repository';
import {
  Evaluation,
  PolicyEvaluationService,
} from 'src/modules/policies/policy-evaluation.service';
import { RunnerRpcService } from 'src/modules/runners/runner-rpc.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';

const PREVIEW_MAX = 1024;
const SWEEP_BATCH = 100;
const STATUS_OF: Record<ElicitationAction, Exclude<ElicitationStatus, 'pending' | 'expired'>> = {
  accept: 'accepted',
  cancel: 'cancelled',
  decline: 'declined',
};

/** What `GET …/elicitations/{id}` answers. */
export type ElicitationLookup =
  | { status: 'resolved' }
  | {
      status: 'pending';
      message: string;
      phase: string | null;
      policy_name: string | null;
      content_preview: string | null;
    };

export function contentPreview(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  return text.length > PREVIEW_MAX ? `${text.slice(0, PREVIEW_MAX)} [truncated]` : text;
}

/**
 * Approvals (spec/policies.md §5, spec/runner-protocol.md F4a/F5): an ASK becomes a stored
 * elicitation and a `response.elicitation_request` event; it is decided exactly once (a
 * compare-and-set on `status`) by the resolve route, the expiry sweeper or the end of its turn;
 * the decision is published as `response.elicitation_resolved` and delivered to the runner
 * (again after a reconnect when the runner missed it).
 */
@Injectable()
export class ElicitationsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Elicitations');
  private sweeper?: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: SessionAccessService,
    private readonly evaluation: PolicyEvaluationService,
    private readonly repository: ElicitationsRepository,
    private readonly rpc: RunnerRpcService,
    private readonly sessions: SessionsRepository,
    private readonly stream: SessionEventsService,
    private readonly turns: TurnsService,
  ) {}

  onModuleInit(): void {
    // Expiry needs no precision beyond a second or so; the sweep is cheap (a partial index).
    const everyMs = Math.min(this.config.runners.sweeperIntervalMs, 1_000);
    this.sweeper = setInterval(() => void this.sweep(), everyMs);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** Parks an ASK: stores the elicitation and publishes the request event. */
  async create(
    session: SessionEntity,
    evaluation: Evaluation,
    where: {
      phase: 'tool_call' | 'request';
      turnId?: string | null;
      callId?: string | null;
      preview: unknown;
      pendingInput?: Record<string, unknown> | null;
    },
  ): Promise<ElicitationEntity> {
    const id = newId(IdPrefix.Elicitation);
    const timeoutS = evaluation.askTimeoutS ?? this.config.policies.askTimeoutS;
    const params: ElicitationRequestParams = {
      mode: 'form',
      message: evaluation.reason ?? 'approval required',
      requestedSchema: {},
      phase: where.phase,
      policy_name: evaluation.deciding[0] ?? null,
      content_preview: contentPreview(where.preview),
    };
    const row = await this.repository.insert({
      id,
      sessionId: session.id,
      turnId: where.turnId ?? null,
      callId: where.callId ?? null,
      kind: 'policy',
      phase: where.phase,
      policyNames: evaluation.deciding,
      params: params as unknown as Record<string, unknown>,
      deferredWrites: evaluation.writes,
      deferredLabels: evaluation.labels,
      pendingInput: where.pendingInput ?? null,
      expiresAt: new Date(Date.now() + timeoutS * 1000),
    });
    await this.stream.locked(session.id, async (s) => {
      s.emit('response.elicitation_request', {
        elicitation_id: id,
        method: 'elicitation/create',
        params,
      });
    });
    return row;
  }

  /** `POST …/elicitations/{id}/resolve`: 202 for the decision that counted, 409 for a late one. */
  async resolve(
    auth: AuthPrincipal,
    sessionId: string,
    elicitationId: string,
    body: { action: ElicitationAction; content?: Record<string, unknown> | null },
  ): Promise<{ queued: false }> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Edit);
    const id = normalizeId(IdPrefix.Elicitation, elicitationId);
    const decided = id
      ? await this.decide(
          session.id,
          id,
          STATUS_OF[body.action],
          {
            action: body.action,
            content: body.content ?? null,
            reason: 'user',
          },
          auth.userId,
        )
      : null;
    if (!decided) {
      const existing = id ? await this.repository.getForSession(session.id, id) : null;
      if (!existing) {
        throw new DomainError(ErrorCode.NotFound, `Elicitation ${elicitationId} does not exist`);
      }
      throw new DomainError(
        ErrorCode.Conflict,
        `Elicitation ${existing.id} was already resolved (${existing.status})`,
      );
    }
    return { queued: false };
  }

  /** `GET …/elicitations/{id}` (upstream answers `resolved` for unknown ids too). */
  async lookup(
    auth: AuthPrincipal,
    sessionId: string,
    elicitationId: string,
  ): Promise<ElicitationLookup> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Edit);
    const id = normalizeId(IdPrefix.Elicitation, elicitationId);
    const row = id ? await this.repository.getForSession(session.id, id) : null;
    if (!row || row.status !== 'pending') {
      return { status: 'resolved' };
    }
    const params = row.params as unknown as ElicitationRequestParams;
    return {
      status: 'pending',
      message: params.message,
      phase: row.phase,
      policy_name: params.policy_name ?? null,
      content_preview: params.content_preview ?? null,
    };
  }

  /** The snapshot's `pending_elicitations`: the original request events. */
  async pendingEvents(sessionId: string): Promise<Record<string, unknown>[]> {
    const rows = await this.repository.listPending(sessionId);
    return rows.map((row) => ({
      type: 'response.elicitation_request',
      elicitation_id: row.id,
      method: 'elicitation/create',
      params: row.params,
      sequence_number: null,
    }));
  }

  /** Cancels the pending approvals of a turn that ended early (interrupt, failure). */
  async cancelTurn(sessionId: string, turnId: string | null): Promise<void> {
    const rows = await this.repository.listPendingOfTurn(sessionId, turnId);
    for (const row of rows) {
      await this.decide(
        sessionId,
        row.id,
        'cancelled',
        {
          action: 'cancel',
          reason: 'turn_cancelled',
        },
        null,
        false,
      );
    }
  }

  /** Verdicts a reconnecting runner missed; returned in its hello, so they count as delivered. */
  async missedVerdicts(
    sessionIds: string[],
    ids: string[],
  ): Promise<{ elicitation_id: string; action: string; content?: unknown }[]> {
    const allowed = new Set(sessionIds);
    const rows = (await this.repository.listUndelivered(ids)).filter((r) =>
      allowed.has(r.sessionId),
    );
    for (const row of rows) {
      await this.repository.markDelivered(row.id);
    }
    return rows.map((row) => ({
      elicitation_id: row.id,
      action: row.resolution?.action ?? 'cancel',
      ...(row.resolution?.content ? { content: row.resolution.content } : {}),
    }));
  }

  /** Expires pending approvals past their deadline (they deny, like a cancel). */
  async sweep(): Promise<void> {
    if (this.sweeping) {
      return;
    }
    this.sweeping = true;
    try {
      const due = await this.repository.listDue(new Date(), SWEEP_BATCH);
      for (const row of due) {
        await this.decide(
          row.sessionId,
          row.id,
          'expired',
          { action: 'cancel', reason: 'timeout' },
          null,
        );
      }
    } catch (error) {
      this.logger.warn(`Elicitation sweep failed: ${(error as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * The one place an elicitation is decided: the CAS, then (only for the winner) the deferred
   * writes on accept, the resolved event, and the consequence (runner delivery, or the parked
   * user message). Null when another decision came first.
   */
  private async decide(
    sessionId: string,
    id: string,
    status: Exclude<ElicitationStatus, 'pending'>,
    resolution: ElicitationResolution,
    resolvedBy: string | null,
    notifyRunner = true,
  ): Promise<ElicitationEntity | null> {
    const row = await this.repository.resolve(sessionId, id, status, resolution, resolvedBy);
    if (!row) {
      return null;
    }
    if (status === 'accepted') {
      await this.evaluation.applyDeferred(
        sessionId,
        row.deferredWrites ?? [],
        row.deferredLabels ?? {},
      );
    }
    await this.stream.locked(sessionId, async (s) => {
      s.emit('response.elicitation_resolved', { elicitation_id: id });
    });
    if (row.phase === 'request') {
      await this.settleInput(row, status === 'accepted');
    } else if (notifyRunner) {
      void this.deliver(row);
    }
    return row;
  }

  private async settleInput(row: ElicitationEntity, approved: boolean): Promise<void> {
    const input = row.pendingInput as { data: Record<string, unknown>; created_by: string | null };
    try {
      const session = approved ? await this.sessions.getById(row.sessionId) : null;
      if (session) {
        await this.turns.runApprovedInput(session, input.data, input.created_by);
      } else {
        await this.turns.denyInput(row.sessionId, 'approval not granted');
      }
    } catch (error) {
      this.logger.warn(`Approved input of ${row.sessionId} failed: ${(error as Error).message}`);
    }
  }

  /** Sends the verdict to the session's runner; a runner that is away gets it at its next hello. */
  private async deliver(row: ElicitationEntity): Promise<void> {
    const session = await this.sessions.getById(row.sessionId);
    if (!session || !this.rpc.isServing(session) || !row.resolution) {
      return;
    }
    const params: ElicitationResolveParams = {
      session_id: row.sessionId,
      elicitation_id: row.id,
      action: row.resolution.action,
      content: row.resolution.content ?? null,
      reason: row.resolution.reason,
    };
    try {
      const result = await this.rpc.call<{ delivered?: boolean }>(
        session,
        Methods.elicitationResolve,
        params,
        Timeouts.elicitationResolveMs,
      );
      if (result?.delivered) {
        await this.repository.markDelivered(row.id);
      }
    } catch (error) {
      this.logger.warn(`elicitation.resolve of ${row.id} failed: ${(error as Error).message}`);
    }
  }
}
