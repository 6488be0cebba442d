import { Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import {
  ElicitationAction,
  HelloResult,
  SessionInitParams,
  ToolAuthorizeParams,
  ToolAuthorizeResult,
  ToolReviewParams,
  ToolReviewResult,
} from 'src/protocol/runner-protocol';
import { SessionEntity } from 'src/modules/sessions/session.entity';

/** The request-phase verdict on a user message. */
export type RequestGateResult =
  | { decision: 'allow' }
  | { decision: 'deny'; reason: string }
  | { decision: 'ask'; elicitation_id: string };

/** An answer to an approval, from an `approval` event. */
export interface ApprovalAnswer {
  elicitationId: string;
  action: ElicitationAction;
  content: Record<string, unknown> | null;
}

/** The response-phase verdict on a posted assistant message (`data` may be rewritten). */
export type ResponseGateResult =
  { decision: 'allow'; data: Record<string, unknown> } | { decision: 'deny'; reason: string };

/** What the turn asks of the policies feature (implemented by src/modules/policies). */
export interface TurnPolicyGate {
  /** `session.init.policy`: whether the runner must call tool.authorize / tool.review. */
  flags(session: SessionEntity): Promise<SessionInitParams['policy']>;
  authorizeToolCall(
    session: SessionEntity,
    params: ToolAuthorizeParams,
  ): Promise<ToolAuthorizeResult>;
  reviewToolResult(session: SessionEntity, params: ToolReviewParams): Promise<ToolReviewResult>;
  /**
   * Whether `gateRequest` would allow any message of the session without evaluating anything,
   * known synchronously (the policy cache holds every lookup and no policy acts on the request
   * phase). False when that would take a read: the caller then runs `gateRequest`.
   */
  requestGateIsOpen(session: SessionEntity): boolean;
  /** Request phase: an ASK parks `input` until the approval decides. */
  gateRequest(
    auth: AuthPrincipal,
    session: SessionEntity,
    input: { data: Record<string, unknown>; createdBy: string | null },
  ): Promise<RequestGateResult>;
  /** Response phase: an assistant message posted by a client, before it is stored. */
  gateResponse(session: SessionEntity, data: Record<string, unknown>): Promise<ResponseGateResult>;
  /** An `approval` event: resolves the elicitation exactly like the resolve route. */
  resolveApproval(
    auth: AuthPrincipal,
    session: SessionEntity,
    approval: ApprovalAnswer,
  ): Promise<{ queued: false }>;
  /** The snapshot's `pending_elicitations` (the original request events). */
  pendingElicitations(sessionId: string): Promise<Record<string, unknown>[]>;
  /** The turn ended early (interrupt, failure): its pending approvals are cancelled. */
  turnEnded(sessionId: string, turnId: string | null): Promise<void>;
  /**
   * Decisions a reconnecting runner missed for the approvals it reports as parked (only of
   * `sessionIds`, the sessions it serves); they count as delivered once returned.
   */
  verdictsFor(sessionIds: string[], elicitationIds: string[]): Promise<HelloResult['verdicts']>;
}

/**
 * The seam between the turn and the policies feature (which depends on sessions, so it plugs
 * itself in here at start-up). Without a gate every tool call is allowed and nothing is gated:
 * only unit tests run that way.
 */
@Injectable()
export class TurnPolicyHooks {
  private gate?: TurnPolicyGate;

  register(gate: TurnPolicyGate): void {
    this.gate = gate;
  }

  get(): TurnPolicyGate | undefined {
    return this.gate;
  }
}
