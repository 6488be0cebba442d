import { Injectable, Logger } from '@nestjs/common';

import { AgentSpecWire } from 'src/protocol/agent-spec';
import {
  applyStateUpdates,
  evaluatePolicies,
} from 'src/modules/policies/engine/policy-engine.util';
import {
  BoundPolicy,
  EngineResult,
  LabelDecl,
  Phase,
  PolicyEvent,
  PolicySource,
} from 'src/modules/policies/engine/policy.types';
import { PoliciesRepository } from 'src/modules/policies/policies.repository';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { PolicyEntity } from 'src/modules/policies/policy.entity';
import {
  PolicySnapshot,
  PolicyStateRepository,
} from 'src/modules/policies/policy-state.repository';
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

/** A session's policies in evaluation order, with the spec's label declarations. */
export interface ResolvedPolicies {
  policies: BoundPolicy[];
  labelDecls: Readonly<Record<string, LabelDecl>>;
}

/** The `initial` label values a conversation gets once: none when seeded, never over a set label. */
function seedFor(
  snapshot: PolicySnapshot,
  decls: Readonly<Record<string, LabelDecl>>,
): Record<string, string> {
  if (snapshot.labelsSeeded) {
    return {};
  }
  const seed: Record<string, string> = {};
  for (const [key, decl] of Object.entries(decls)) {
    if (decl.initial !== undefined && !Object.hasOwn(snapshot.labels, key)) {
      seed[key] = decl.initial;
    }
  }
  return seed;
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

  /** The session's policies in evaluation order, and the spec's label declarations. */
  async policiesFor(session: SessionEntity): Promise<ResolvedPolicies> {
    const [stored, agent, defaults] = await Promise.all([
      this.policies.list({ scope: 'session', sessionId: session.id }, true),
      this.agents.getById(session.agentId),
      this.policies.list({ scope: 'default' }, true),
    ]);
    const spec = agent?.spec as Pick<AgentSpecWire, 'policies' | 'labels'> | undefined;
    const bindRow = (p: PolicyEntity) =>
      this.bindOrDeny(
        { name: p.name, handler: p.handler, factoryParams: p.factoryParams },
        p.scope === 'session' ? 'session' : 'default',
      );
    return {
      policies: [
        ...stored.map(bindRow),
        ...(spec?.policies ?? []).map((p) =>
          this.bindOrDeny(
            {
              name: p.name,
              handler: p.handler,
              factoryParams: p.factory_params,
              askTimeoutS: p.ask_timeout,
              condition: p.condition,
              setLabels: p.set_labels,
            },
            'spec',
          ),
        ),
        ...defaults.map(bindRow),
        this.registry.askOnAddPolicy(),
      ],
      labelDecls: spec?.labels ?? {},
    };
  }

  /** The phases some policy (the built-in guard aside) acts on. */
  async phasesFor(session: SessionEntity): Promise<Set<Phase>> {
    const { policies } = await this.policiesFor(session);
    return new Set(policies.filter((p) => p.source !== 'builtin').flatMap((p) => p.phases));
  }

  async evaluate(session: SessionEntity, input: EvaluationInput): Promise<Evaluation> {
    const resolved = await this.policiesFor(session);
    const policies = resolved.policies.filter((p) => p.phases.includes(input.phase));
    const event = (snapshot: PolicySnapshot, labels: Record<string, string>): PolicyEvent => ({
      type: input.phase,
      target: input.target ?? null,
      data: input.data,
      ...(input.requestData !== undefined ? { request_data: input.requestData } : {}),
      context: {
        actor: { run_as: input.actor ?? session.ownerId },
        model: session.modelOverride ?? null,
        harness: null,
        turn_id: input.turnId ?? null,
        labels,
      },
      session_state: snapshot.state,
    });
    const run = (snapshot: PolicySnapshot, seed: Record<string, string>): Evaluation => {
      const labels = { ...seed, ...snapshot.labels };
      const result = evaluatePolicies(policies, event(snapshot, labels), resolved.labelDecls);
      const askTimeoutS = policies.find((p) => p.name === result.deciding[0])?.askTimeoutS ?? null;
      return { ...result, askTimeoutS };
    };
    if (policies.length === 0) {
      return {
        result: 'ALLOW',
        deciding: [],
        writes: [],
        labels: {},
        applyWrites: true,
        askTimeoutS: null,
      };
    }
    if (input.readOnly) {
      const snapshot = await this.state.get(session.id);
      return run(snapshot, seedFor(snapshot, resolved.labelDecls));
    }
    return this.state.withState(session.id, async (snapshot) => {
      const seed = seedFor(snapshot, resolved.labelDecls);
      const result = run(snapshot, seed);
      const apply = result.applyWrites;
      return {
        writes: {
          ...(apply && result.writes.length > 0
            ? { state: applyStateUpdates(snapshot.state, result.writes) }
            : {}),
          ...(apply ? { labels: result.labels } : {}),
          ...(snapshot.labelsSeeded ? {} : { seed }),
        },
        result,
      };
    });
  }

  /** Applies the writes an ASK held back, once the human accepted. */
  async applyDeferred(
    sessionId: string,
    writes: EngineResult['writes'],
    labels: Record<string, string>,
  ): Promise<void> {
    if (writes.length === 0 && Object.keys(labels).length === 0) {
      return;
    }
    await this.state.withState(sessionId, (snapshot) => {
      try {
        const state = writes.length > 0 ? applyStateUpdates(snapshot.state, writes) : undefined;
        return Promise.resolve({ writes: { state, labels }, result: undefined });
      } catch (error) {
        this.logger.warn(
          `Deferred policy writes of ${sessionId} failed: ${(error as Error).message}`,
        );
        return Promise.resolve({ writes: { labels }, result: undefined });
      }
    });
  }

  /** A policy whose handler or params no longer validate denies everything (fail closed). */
  private bindOrDeny(
    policy: Parameters<PolicyRegistryService['bind']>[0],
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
