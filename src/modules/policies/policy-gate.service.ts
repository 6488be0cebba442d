import { Injectable, OnModuleInit } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { messageText } from 'src/protocol/items';
import {
  HelloResult,
  SessionInitParams,
  ToolAuthorizeParams,
  ToolAuthorizeResult,
  ToolReviewParams,
  ToolReviewResult,
} from 'src/protocol/runner-protocol';
import { ElicitationsService } from 'src/modules/policies/elicitations.service';
import {
  Evaluation,
  PolicyEvaluationService,
} from 'src/modules/policies/policy-evaluation.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import {
  ApprovalAnswer,
  RequestGateResult,
  ResponseGateResult,
  TurnPolicyGate,
  TurnPolicyHooks,
} from 'src/modules/sessions/turns/turn-policy.hooks';

function denialText(evaluation: Evaluation): string {
  return `[Denied by policy: ${evaluation.deciding.join(', ') || 'policy'}] ${evaluation.reason ?? ''}`.trim();
}

/**
 * Enforcement (spec/policies.md §3): the turn's policy hooks. Tool calls through the runner's
 * `tool.authorize` (an ASK parks the call as an elicitation), tool results through
 * `tool.review`, user messages at the request phase.
 */
@Injectable()
export class PolicyGateService implements TurnPolicyGate, OnModuleInit {
  constructor(
    private readonly elicitations: ElicitationsService,
    private readonly evaluation: PolicyEvaluationService,
    private readonly hooks: TurnPolicyHooks,
    private readonly stream: SessionEventsService,
  ) {}

  onModuleInit(): void {
    this.hooks.register(this);
  }

  async flags(session: SessionEntity): Promise<SessionInitParams['policy']> {
    // No tool_call policy, no tool.authorize round trip per call (the hot path). The runner
    // learns the flags with session.init and every turn.start, and by session.update when the
    // session's policies change (RunnerLinkService.policiesChanged).
    const phases = await this.evaluation.phasesFor(session);
    return { tool_call: phases.has('tool_call'), tool_result: phases.has('tool_result') };
  }

  async authorizeToolCall(
    session: SessionEntity,
    params: ToolAuthorizeParams,
  ): Promise<ToolAuthorizeResult> {
    const args =
      params.arguments && typeof params.arguments === 'object' && !Array.isArray(params.arguments)
        ? params.arguments
        : {};
    const data = { name: String(params.name), arguments: args };
    const evaluation = await this.evaluation.evaluate(session, {
      phase: 'tool_call',
      target: data.name,
      data,
      turnId: params.turn_id,
    });
    if (evaluation.result === 'DENY') {
      await this.stream.locked(session.id, async (s) => {
        s.emit('response.policy_denied', {
          conversation_id: session.id,
          phase: 'tool_call',
          reason: evaluation.reason ?? '',
        });
      });
      return {
        decision: 'deny',
        reason: evaluation.reason ?? 'denied by policy',
        output: denialText(evaluation),
      };
    }
    if (evaluation.result === 'ASK') {
      const row = await this.elicitations.create(session, evaluation, {
        phase: 'tool_call',
        turnId: params.turn_id,
        callId: params.call_id,
        preview: data,
      });
      return {
        decision: 'ask',
        elicitation_id: row.id,
        expires_at: Math.floor(row.expiresAt.getTime() / 1000),
      };
    }
    const rewritten = (evaluation.data as { arguments?: unknown } | undefined)?.arguments;
    return rewritten && typeof rewritten === 'object' && !Array.isArray(rewritten)
      ? { decision: 'allow', arguments: rewritten as Record<string, unknown> }
      : { decision: 'allow' };
  }

  async reviewToolResult(
    session: SessionEntity,
    params: ToolReviewParams,
  ): Promise<ToolReviewResult> {
    const evaluation = await this.evaluation.evaluate(session, {
      phase: 'tool_result',
      target: String(params.name),
      data: { result: String(params.output ?? '') },
      requestData: { name: params.name },
      turnId: params.turn_id,
    });
    // No human is asked about a result already produced: an ASK counts as a deny (protocol §5).
    if (evaluation.result !== 'ALLOW') {
      return { decision: 'deny', output: denialText(evaluation) };
    }
    const result = (evaluation.data as { result?: unknown } | undefined)?.result;
    return typeof result === 'string'
      ? { decision: 'allow', output: result }
      : { decision: 'allow' };
  }

  resolveApproval(
    auth: AuthPrincipal,
    session: SessionEntity,
    approval: ApprovalAnswer,
  ): Promise<{ queued: false }> {
    return this.elicitations.resolve(auth, session.id, approval.elicitationId, {
      action: approval.action,
      content: approval.content,
    });
  }

  requestGateIsOpen(session: SessionEntity): boolean {
    // What gateRequest's evaluation would find: no policy on the request phase is an ALLOW
    // with nothing written (PolicyEvaluationService.evaluate).
    const resolved = this.evaluation.cachedPoliciesFor(session);
    return resolved !== undefined && !resolved.policies.some((p) => p.phases.includes('request'));
  }

  async gateRequest(
    auth: AuthPrincipal,
    session: SessionEntity,
    input: { data: Record<string, unknown>; createdBy: string | null },
  ): Promise<RequestGateResult> {
    const text = messageText(input.data);
    let evaluation: Evaluation;
    try {
      evaluation = await this.evaluation.evaluate(session, {
        phase: 'request',
        data: { user_content: text, attachments: [] },
        actor: auth.userId,
      });
    } catch {
      // The request phase fails closed (spec/policies.md §3).
      return { decision: 'deny', reason: 'policy evaluation error' };
    }
    if (evaluation.result === 'DENY') {
      return { decision: 'deny', reason: evaluation.reason ?? 'denied by policy' };
    }
    if (evaluation.result === 'ASK') {
      const row = await this.elicitations.create(session, evaluation, {
        phase: 'request',
        preview: text,
        pendingInput: { data: input.data, created_by: input.createdBy },
      });
      return { decision: 'ask', elicitation_id: row.id };
    }
    return { decision: 'allow' };
  }

  async gateResponse(
    session: SessionEntity,
    data: Record<string, unknown>,
  ): Promise<ResponseGateResult> {
    const text = messageText(data);
    let evaluation: Evaluation;
    try {
      evaluation = await this.evaluation.evaluate(session, { phase: 'response', data: text });
    } catch {
      // The response phase fails open (spec/policies.md §3).
      return { decision: 'allow', data };
    }
    if (evaluation.result === 'DENY') {
      const reason = evaluation.reason ?? 'denied by policy';
      await this.stream.locked(session.id, async (s) => {
        s.emit('response.policy_denied', {
          conversation_id: session.id,
          phase: 'response',
          reason,
        });
      });
      return { decision: 'deny', reason };
    }
    // An ASK cannot hold a message that is already written: like an unavailable evaluation,
    // the response phase lets it through. A policy may rewrite the text.
    if (typeof evaluation.data === 'string' && evaluation.data !== text) {
      return {
        decision: 'allow',
        data: { ...data, content: [{ type: 'output_text', text: evaluation.data }] },
      };
    }
    return { decision: 'allow', data };
  }

  turnEnded(sessionId: string, turnId: string | null): Promise<void> {
    return this.elicitations.cancelTurn(sessionId, turnId);
  }

  verdictsFor(sessionIds: string[], elicitationIds: string[]): Promise<HelloResult['verdicts']> {
    return this.elicitations.missedVerdicts(sessionIds, elicitationIds);
  }

  pendingElicitations(sessionId: string): Promise<Record<string, unknown>[]> {
    return this.elicitations.pendingEvents(sessionId);
  }
}
