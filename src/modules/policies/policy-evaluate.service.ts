import { Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { Phase } from 'src/modules/policies/engine/policy.types';
import { ElicitationsRepository } from 'src/modules/policies/elicitations.repository';
import { ElicitationsService } from 'src/modules/policies/elicitations.service';
import { PolicyEvaluationService } from 'src/modules/policies/policy-evaluation.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';

const PHASES: Record<string, Phase> = {
  PHASE_LLM_REQUEST: 'llm_request',
  PHASE_LLM_RESPONSE: 'llm_response',
  PHASE_REQUEST: 'request',
  PHASE_TOOL_CALL: 'tool_call',
  PHASE_TOOL_RESULT: 'tool_result',
};
/** Phases whose ASK is held until a human decides (the caller gets ALLOW or DENY). */
const HELD: ReadonlySet<Phase> = new Set(['tool_call', 'llm_request', 'request']);
const RETRY_ID = /^elicit_evaluate_[0-9a-f]{32}$/;
const POLL_MS = 250;

export interface EvaluateAnswer {
  result: 'POLICY_ACTION_ALLOW' | 'POLICY_ACTION_DENY' | 'POLICY_ACTION_ASK';
  reason?: string;
  data?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(message: string): DomainError {
  return new DomainError(ErrorCode.InvalidInput, message);
}

/**
 * `POST /v1/sessions/{id}/policies/evaluate` (spec/policies.md §6.4): the hook endpoint of native
 * harnesses. The body is checked before it is normalised (a malformed one never fails open);
 * `context.actor` is ignored. Callers below edit level are evaluated read-only and get an ASK
 * back; for edit-level callers an ASK on a blocking phase is held until a human decides.
 */
@Injectable()
export class PolicyEvaluateService {
  constructor(
    private readonly access: SessionAccessService,
    private readonly elicitationRows: ElicitationsRepository,
    private readonly elicitations: ElicitationsService,
    private readonly evaluation: PolicyEvaluationService,
  ) {}

  async evaluate(
    auth: AuthPrincipal,
    sessionId: string,
    contentType: string | undefined,
    body: unknown,
  ): Promise<EvaluateAnswer> {
    if (!/^application\/([\w.+-]+\+)?json\b/i.test(contentType ?? '')) {
      throw new DomainError(
        ErrorCode.UnsupportedMediaType,
        'Content-Type must be application/json',
      );
    }
    const session = await this.access.require(auth, sessionId, SessionLevel.Read);
    const input = parseEvaluateBody(body);
    const readOnly = (this.access.levelOf(auth, session) ?? 0) < SessionLevel.Edit;
    const evaluation = await this.evaluation.evaluate(session, {
      phase: input.phase,
      target: input.target,
      data: input.data,
      requestData: input.requestData,
      actor: auth.userId,
      readOnly,
    });
    if (evaluation.result === 'ALLOW') {
      return {
        result: 'POLICY_ACTION_ALLOW',
        ...(evaluation.data !== undefined ? { data: evaluation.data } : {}),
      };
    }
    if (evaluation.result === 'DENY') {
      return { result: 'POLICY_ACTION_DENY', reason: evaluation.reason };
    }
    if (readOnly || !HELD.has(input.phase)) {
      return { result: 'POLICY_ACTION_ASK', reason: evaluation.reason };
    }
    const row = await this.elicitations.create(session, evaluation, {
      phase: input.phase === 'request' ? 'request' : 'tool_call',
      preview: input.data,
      // A held request needs no parked message: the caller is waiting for the answer.
      pendingInput: null,
    });
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const current = await this.elicitationRows.getForSession(session.id, row.id);
      if (!current || current.status !== 'pending') {
        return current?.status === 'accepted'
          ? { result: 'POLICY_ACTION_ALLOW' }
          : { result: 'POLICY_ACTION_DENY', reason: 'approval not granted' };
      }
    }
  }
}

/** The §6.4 validation table, then upstream's context mapping. */
export function parseEvaluateBody(body: unknown): {
  phase: Phase;
  target: string | null;
  data: unknown;
  requestData?: unknown;
} {
  if (!isObject(body)) {
    throw invalid('The body must be a JSON object');
  }
  const retryId = body._omnigent_elicitation_id;
  if (retryId !== undefined && (typeof retryId !== 'string' || !RETRY_ID.test(retryId))) {
    throw invalid('_omnigent_elicitation_id must be elicit_evaluate_<32 hex>');
  }
  const event = body.event;
  if (!isObject(event)) {
    throw invalid('event is required and must be an object');
  }
  if (typeof event.type !== 'string' || !PHASES[event.type]) {
    throw invalid(`event.type must be one of: ${Object.keys(PHASES).join(', ')}`);
  }
  const phase = PHASES[event.type];
  if (event.context !== undefined && !isObject(event.context)) {
    throw invalid('event.context must be an object');
  }
  const data = event.data;
  if (phase === 'request') {
    if (!isObject(data) && typeof data !== 'string') {
      throw invalid('event.data must be an object or a string for PHASE_REQUEST');
    }
    const text = isObject(data)
      ? typeof data.text === 'string'
        ? data.text
        : typeof data.content === 'string'
          ? data.content
          : JSON.stringify(data)
      : data;
    return { phase, target: null, data: { user_content: text, attachments: [] } };
  }
  if (!isObject(data)) {
    throw invalid(`event.data must be an object for ${event.type}`);
  }
  if (phase === 'tool_call') {
    if (typeof data.name !== 'string' || !data.name) {
      throw invalid('PHASE_TOOL_CALL needs the tool name in event.data.name');
    }
    const args = isObject(data.arguments) ? data.arguments : {};
    return { phase, target: data.name, data: { name: data.name, arguments: args } };
  }
  if (phase === 'tool_result') {
    const requestData = isObject(event.request_data) ? event.request_data : undefined;
    const name =
      typeof requestData?.name === 'string' && requestData.name
        ? requestData.name
        : typeof event.target === 'string'
          ? event.target
          : '';
    if (!name) {
      throw invalid(
        'PHASE_TOOL_RESULT needs the tool name in event.request_data.name or event.target',
      );
    }
    const result =
      typeof data.result === 'string' ? data.result : JSON.stringify(data.result ?? null);
    return { phase, target: name, data: { result }, requestData: requestData ?? { name } };
  }
  return { phase, target: null, data };
}
