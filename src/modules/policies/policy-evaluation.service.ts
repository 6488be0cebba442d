import { Injectable, Logger } from '@nestjs/common';

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
  StateUpdate,
} from 'src/modules/policies/engine/policy.types';
import { PolicyCacheService, SpecGuardrails } from 'src/modules/policies/policy-cache.service';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import {
  COST_APPROVED_KEY,
  COST_UNPRICED_KEY,
  DAILY_APPROVED_KEY,
} from 'src/modules/policies/handlers/cost.handlers';
import { JudgeClientService } from 'src/modules/policies/judge/judge-client.service';
import { JudgeMemo, settleJudged } from 'src/modules/policies/judge/judge-memo.util';
import { PolicyEntity } from 'src/modules/policies/policy.entity';
import {
  PolicySnapshot,
  PolicyStateRepository,
} from 'src/modules/policies/policy-state.repository';
import { PolicyUsageRepository } from 'src/modules/policies/policy-usage.repository';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { utcDay } from 'src/modules/sessions/usage-totals';

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

/** The verdict when no policy acts on the phase. */
export const ALLOW_NO_POLICY: Readonly<Evaluation> = Object.freeze({
  result: 'ALLOW',
  deciding: [],
  writes: [],
  labels: {},
  applyWrites: true,
  askTimeoutS: null,
});

/** A session's policies in evaluation order, with the spec's label declarations. */
export interface ResolvedPolicies {
  policies: BoundPolicy[];
  labelDecls: Readonly<Record<string, LabelDecl>>;
  /** The spec's model (`context.model` unless the session overrides it). */
  model: string | null;
  /** The spec's guardrails-level ASK timeout (a policy's own wins). */
  askTimeoutS: number | null;
}

/** State keys of the spawn tree kept in the root session's state (one approval covers it). */
const ROOT_STATE_KEYS = [COST_APPROVED_KEY, COST_UNPRICED_KEY];

/** Sorts writes by where they are kept (spec/policies.md §4: three reserved keys are routed). */
function splitWrites(
  writes: StateUpdate[],
  isRoot: boolean,
): { local: StateUpdate[]; root: StateUpdate[]; daily: StateUpdate[] } {
  const out = { local: [] as StateUpdate[], root: [] as StateUpdate[], daily: [] as StateUpdate[] };
  for (const write of writes) {
    if (write.key === DAILY_APPROVED_KEY) {
      out.daily.push(write);
    } else if (!isRoot && ROOT_STATE_KEYS.includes(write.key)) {
      out.root.push(write);
    } else {
      out.local.push(write);
    }
  }
  return out;
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
    private readonly cache: PolicyCacheService,
    private readonly registry: PolicyRegistryService,
    private readonly state: PolicyStateRepository,
    private readonly usage: PolicyUsageRepository,
    private readonly judge: JudgeClientService,
  ) {}

  /**
   * The session's policies in evaluation order, and the spec's label declarations. A sub-agent
   * session's own policies come after its root session's (one of the root's is left out when
   * the child has one of the same name: the child's wins).
   */
  async policiesFor(session: SessionEntity): Promise<ResolvedPolicies> {
    const rootId = session.rootSessionId ?? session.id;
    const [own, inherited, spec, defaults] = await Promise.all([
      this.cache.sessionPolicies(session.id),
      rootId !== session.id ? this.cache.sessionPolicies(rootId) : [],
      this.cache.agentSpec(session.agentId),
      this.cache.defaultPolicies(),
    ]);
    return this.resolve(own, inherited, spec, defaults);
  }

  /**
   * `policiesFor` from the policy cache alone, synchronously: undefined unless every lookup it
   * needs is cached and settled (nothing is read; see `PolicyCacheService.peekSessionPolicies`).
   */
  cachedPoliciesFor(session: SessionEntity): ResolvedPolicies | undefined {
    const rootId = session.rootSessionId ?? session.id;
    const own = this.cache.peekSessionPolicies(session.id);
    const inherited =
      rootId !== session.id ? this.cache.peekSessionPolicies(rootId) : { value: [] };
    const spec = this.cache.peekAgentSpec(session.agentId);
    const defaults = this.cache.peekDefaultPolicies();
    return own && inherited && spec && defaults
      ? this.resolve(own.value, inherited.value, spec.value, defaults.value)
      : undefined;
  }

  private resolve(
    own: PolicyEntity[],
    inherited: PolicyEntity[],
    spec: SpecGuardrails,
    defaults: PolicyEntity[],
  ): ResolvedPolicies {
    const ownNames = new Set(own.map((p) => p.name));
    const stored = [...inherited.filter((p) => !ownNames.has(p.name)), ...own];
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
      model: spec?.executor?.model ?? null,
      askTimeoutS: spec?.ask_timeout ?? null,
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
    if (policies.length === 0) {
      return { ...ALLOW_NO_POLICY, writes: [], labels: {}, deciding: [] };
    }
    const rootId = session.rootSessionId ?? session.id;
    const day = utcDay(new Date());
    const routed = await this.routedContext(session, rootId, day, policies);
    const judged = policies.filter((p) => p.judged).length;
    const memo = judged > 0 ? new JudgeMemo(this.judge) : undefined;
    const run = (snapshot: PolicySnapshot, seed: Record<string, string>): Evaluation => {
      const labels = { ...seed, ...snapshot.labels };
      const event: PolicyEvent = {
        type: input.phase,
        target: input.target ?? null,
        data: input.data,
        ...(input.requestData !== undefined ? { request_data: input.requestData } : {}),
        context: {
          actor: { run_as: input.actor ?? session.ownerId },
          model: session.modelOverride ?? resolved.model,
          harness: null,
          turn_id: input.turnId ?? null,
          labels,
          ...routed.context,
        },
        session_state: { ...snapshot.state, ...routed.state },
      };
      const result = evaluatePolicies(policies, event, resolved.labelDecls, memo);
      const deciding = policies.find((p) => p.name === result.deciding[0]);
      const askTimeoutS = deciding?.askTimeoutS ?? resolved.askTimeoutS;
      return { ...result, askTimeoutS };
    };
    const settle = (snapshot: PolicySnapshot): Promise<Evaluation> => {
      const seed = seedFor(snapshot, resolved.labelDecls);
      return settleJudged(() => run(snapshot, seed), memo, judged);
    };
    if (input.readOnly) {
      return settle(await this.state.get(session.id));
    }
    if (memo) {
      // Ask the judge before the state row is locked (a judge call takes seconds): the locked
      // run then finds the answers, unless a concurrent evaluation changed what is asked.
      await settle(await this.state.get(session.id));
    }
    const evaluation = await this.state.withState(session.id, async (snapshot) => {
      const seed = seedFor(snapshot, resolved.labelDecls);
      const result = await settle(snapshot);
      const apply = result.applyWrites;
      const local = apply ? splitWrites(result.writes, rootId === session.id).local : [];
      return {
        writes: {
          ...(local.length > 0 ? { state: applyStateUpdates(snapshot.state, local) } : {}),
          ...(apply ? { labels: result.labels } : {}),
          ...(snapshot.labelsSeeded ? {} : { seed }),
        },
        result,
      };
    });
    if (evaluation.applyWrites) {
      await this.applyRouted(session.id, rootId, session.ownerId, day, evaluation.writes);
    }
    return evaluation;
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
    const ids = await this.state.withState(sessionId, (snapshot) => {
      const ids = { rootId: snapshot.rootSessionId, ownerId: snapshot.ownerId };
      const { local } = splitWrites(writes, snapshot.rootSessionId === sessionId);
      try {
        const state = local.length > 0 ? applyStateUpdates(snapshot.state, local) : undefined;
        return Promise.resolve({ writes: { state, labels }, result: ids });
      } catch (error) {
        this.logger.warn(
          `Deferred policy writes of ${sessionId} failed: ${(error as Error).message}`,
        );
        return Promise.resolve({ writes: { labels }, result: ids });
      }
    });
    await this.applyRouted(sessionId, ids.rootId, ids.ownerId, utcDay(new Date()), writes);
  }

  /**
   * The context some policies need (usage, the owner's daily spend) and the state keys kept
   * outside the session's own state: the cost approvals of the spawn tree's root, the owner's
   * approved daily threshold.
   */
  private async routedContext(
    session: SessionEntity,
    rootId: string,
    day: string,
    policies: BoundPolicy[],
  ): Promise<{ context: Partial<PolicyEvent['context']>; state: Record<string, unknown> }> {
    const needs = new Set(policies.flatMap((p) => p.needs ?? []));
    const context: Partial<PolicyEvent['context']> = {};
    const state: Record<string, unknown> = {};
    if (needs.size === 0) {
      return { context, state };
    }
    const [usage, daily, root] = await Promise.all([
      needs.has('usage') ? this.usage.treeUsage(rootId) : undefined,
      needs.has('userDailyCost') ? this.usage.userDaily(session.ownerId, day) : undefined,
      rootId !== session.id ? this.state.get(rootId) : undefined,
    ]);
    if (usage) {
      context.usage = usage;
    }
    if (daily) {
      context.user_daily_cost = {
        cost_usd: daily.cost_usd,
        unpriced_tokens: daily.unpriced_tokens,
      };
      state[DAILY_APPROVED_KEY] = daily.approved;
    }
    for (const key of ROOT_STATE_KEYS) {
      if (root && root.state[key] !== undefined) {
        state[key] = root.state[key];
      }
    }
    return { context, state };
  }

  /** Writes of the keys kept elsewhere: the root session's state, the per-user-day approval. */
  private async applyRouted(
    sessionId: string,
    rootId: string,
    ownerId: string,
    day: string,
    writes: EngineResult['writes'],
  ): Promise<void> {
    const { root, daily } = splitWrites(writes, rootId === sessionId);
    if (root.length > 0) {
      await this.state.withState(rootId, (snapshot) =>
        Promise.resolve({
          writes: { state: applyStateUpdates(snapshot.state, root) },
          result: undefined,
        }),
      );
    }
    for (const write of daily) {
      if (write.action === 'set' && typeof write.value === 'number') {
        await this.usage.approveDaily(ownerId, day, write.value);
      }
    }
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
