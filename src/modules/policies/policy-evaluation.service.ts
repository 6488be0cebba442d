import { Injectable, Logger } from '@nestjs/common';

import { AgentPolicyWire } from 'src/protocol/agent-spec';
import {
  applyStateUpdates,
  evaluatePolicies,
} from 'src/modules/policies/engine/policy-engine.util';
import {
  BoundPolicy,
  EngineResult,
  Phase,
  PolicyEvent,
  PolicySource,
} from 'src/modules/policies/engine/policy.types';
import { PoliciesRepository } from 'src/modules/policies/policies.repository';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { PolicyStateRepository } from 'src/modules/policies/policy-state.repository';
import { AgentsService } from 'src/modules/registry/agents.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';

/** What one evaluation is about. */
export interface EvaluationInput {
  phase: Phase;
  target?: string | null;
  data: unknown;
  requestData?: unknown;
  turnId?: string | null;
  actor?: string | null;
  /** Compute the verdict but persist nothing (read-level callers). */
  readOnly?: boolean;
}

/** The verdict plus what an ASK needs to park: the asking policies' timeout. */
export interface Evaluation extends EngineResult {
  askTimeoutS: number | null;
}

/**
 * Evaluates a session's policies (spec/policies.md §3–§4): session policies, then the agent
 * spec's, then the server-wide defaults, then the `sys_add_policy` guard. The state row is
 * locked from read to write, so concurrent evaluations of one session are serialised and no
 * update is lost; an ASK's writes are returned for the elicitation to hold.
 */
@Injectable()
export class PolicyEvaluationService {
  private readonly logger = new Logger('Policies');

  constructor(
    private readonly agents: AgentsService,
    private readonly policies: PoliciesRepository,
    private readonly registry: PolicyRegistryService,
    private readonly state: PolicyStateRepository,
  ) {}

  /** The session's policies in evaluation order. */
  async policiesFor(session: SessionEntity): Promise<BoundPolicy[]> {
    const [stored, agent, defaults] = await Promise.all([
      this.policies.list({ scope: 'session', sessionId: session.id }, true),
      this.agents.getById(session.agentId),
      this.policies.list({ scope: 'default' }, true),
    ]);
    const specPolicies = ((agent?.spec as { policies?: AgentPolicyWire[] } | undefined)?.policies ??
      []) as AgentPolicyWire[];
    return [
      ...stored.map((p) =>
        this.bindOrDeny(
          { name: p.name, handler: p.handler, factoryParams: p.factoryParams },
          'session',
        ),
      ),
      ...specPolicies.map((p) =>
        this.bindOrDeny(
          {
            name: p.name,
            handler: p.handler,
            factoryParams: p.factory_params,
            askTimeoutS: p.ask_timeout,
          },
          'spec',
        ),
      ),
      ...defaults.map((p) =>
        this.bindOrDeny(
          { name: p.name, handler: p.handler, factoryParams: p.factoryParams },
          'default',
        ),
      ),
      this.registry.askOnAddPolicy(),
    ];
  }

  /** Whether any policy (the built-in guard aside) acts on the phase. */
  /** The phases some policy (the built-in guard aside) acts on. */
  async phasesFor(session: SessionEntity): Promise<Set<Phase>> {
    const policies = await this.policiesFor(session);
    return new Set(policies.filter((p) => p.source !== 'builtin').flatMap((p) => p.phases));
  }

  async evaluate(session: SessionEntity, input: EvaluationInput): Promise<Evaluation> {
    const policies = (await this.policiesFor(session)).filter((p) =>
      p.phases.includes(input.phase),
    );
    const event = (state: Record<string, unknown>): PolicyEvent => ({
      type: input.phase,
      target: input.target ?? null,
      data: input.data,
      ...(input.requestData !== undefined ? { request_data: input.requestData } : {}),
      context: {
        actor: { run_as: input.actor ?? session.ownerId },
        model: session.modelOverride ?? null,
        harness: null,
        turn_id: input.turnId ?? null,
      },
      session_state: state,
    });
    const timeoutOf = (result: EngineResult) =>
      policies.find((p) => p.name === result.deciding[0])?.askTimeoutS ?? null;
    if (policies.length === 0) {
      return { result: 'ALLOW', deciding: [], writes: [], applyWrites: true, askTimeoutS: null };
    }
    if (input.readOnly) {
      const result = evaluatePolicies(policies, event(await this.state.get(session.id)));
      return { ...result, askTimeoutS: timeoutOf(result) };
    }
    return this.state.withState(session.id, async (state) => {
      const result = evaluatePolicies(policies, event(state));
      const write = result.applyWrites && result.writes.length > 0;
      return {
        state: write ? applyStateUpdates(state, result.writes) : undefined,
        result: { ...result, askTimeoutS: timeoutOf(result) },
      };
    });
  }

  /** Applies writes an ASK held back, once the human accepted. */
  async applyDeferred(sessionId: string, writes: EngineResult['writes']): Promise<void> {
    if (writes.length === 0) {
      return;
    }
    await this.state.withState(sessionId, (state) => {
      try {
        return Promise.resolve({ state: applyStateUpdates(state, writes), result: undefined });
      } catch (error) {
        this.logger.warn(
          `Deferred policy writes of ${sessionId} failed: ${(error as Error).message}`,
        );
        return Promise.resolve({ result: undefined });
      }
    });
  }

  /** A policy whose handler or params no longer validate denies everything (fail closed). */
  private bindOrDeny(
    policy: { name: string; handler: string; factoryParams?: unknown; askTimeoutS?: number | null },
    source: PolicySource,
  ): BoundPolicy {
    try {
      return this.registry.bind(policy, source);
    } catch (error) {
      const message = (error as Error).message;
      return {
        name: policy.name,
        source,
        handler: policy.handler,
        phases: ['request', 'tool_call', 'tool_result', 'response', 'llm_request', 'llm_response'],
        evaluate: () => {
          throw new Error(message);
        },
      };
    }
  }
}
