import { JudgeLookup } from 'src/modules/policies/engine/judge.types';

/** The phases at which policies are consulted (spec/policies.md §2.2). */
export const PHASES = [
  'request',
  'tool_call',
  'tool_result',
  'response',
  'llm_request',
  'llm_response',
] as const;

export type Phase = (typeof PHASES)[number];

export type Verdict = 'ALLOW' | 'DENY' | 'ASK';

/** One write to the per-session policy state (spec/policies.md §2.1). */
export interface StateUpdate {
  key: string;
  action: 'set' | 'increment' | 'delete' | 'append';
  value?: unknown;
}

/** What a policy returns; `undefined` abstains (counts as ALLOW). */
export interface PolicyDecision {
  result: Verdict;
  reason?: string;
  /** A replacement payload, fed to the next policy and, on a final ALLOW, to the enforcement site. */
  data?: unknown;
  state_updates?: StateUpdate[];
  /** Label writes, filtered by the policy's `set_labels` whitelist and the label schema. */
  set_labels?: Record<string, string>;
}

/** A label gate `{key: value | [values]}`: AND across keys, OR within a list (§2.4). */
export type LabelCondition = Readonly<Record<string, string | readonly string[]>>;

/** A declared label (guardrails-level `labels`): its seeded value and allowed values. */
export interface LabelDecl {
  initial?: string;
  values?: readonly string[];
}

/** The event a policy sees (spec/policies.md §2.3, minus what we do not track yet). */
export interface PolicyEvent {
  type: Phase;
  /** The tool name on tool phases, else null. */
  target: string | null;
  data: unknown;
  /** tool_result only: the original call `{name, arguments}`. */
  request_data?: unknown;
  context: {
    actor: { run_as: string | null };
    model: string | null;
    harness: string | null;
    /** Our extension: the turn the event belongs to (per-turn counters). */
    turn_id: string | null;
    /** The conversation's labels when the evaluation started. */
    labels: Readonly<Record<string, string>>;
    /** LLM usage of the session's spawn tree (its root and every sub-agent session). */
    usage?: PolicyUsage;
    /** The session owner's spend this UTC day; only when a policy needs it. */
    user_daily_cost?: UserDailyCost;
  };
  session_state: Readonly<Record<string, unknown>>;
}

/** `context.usage`: `total_cost_usd` is null while no turn was priced (then every token is unpriced). */
export interface PolicyUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  total_cost_usd: number | null;
  /** Our extension: tokens of turns that reported no cost. */
  unpriced_tokens: number;
}

/** `context.user_daily_cost`: across all the owner's sessions, the current UTC day. */
export interface UserDailyCost {
  cost_usd: number;
  unpriced_tokens: number;
}

/** Context a handler needs the engine to load (it costs a query). */
export type PolicyNeed = 'usage' | 'userDailyCost';

/**
 * A policy instance: pure, it never touches a store. An LLM-judged one reads the judge's answers
 * through `judge` (and throws JudgePendingError while its question is open).
 */
export type PolicyEvaluator = (
  event: PolicyEvent,
  judge?: JudgeLookup,
) => PolicyDecision | undefined;

/**
 * A registry entry. `create` receives params already validated against `paramsSchema` (with
 * defaults applied and frozen); a `callable` takes none.
 */
export interface PolicyHandlerDef {
  id: string;
  kind: 'factory' | 'callable';
  name: string;
  description: string;
  /** Strict JSON Schema of the factory params; null for callables (which accept none). */
  paramsSchema: Record<string, unknown> | null;
  /** Phases the handler can act on; the engine skips it elsewhere. */
  phases: readonly Phase[];
  internalOnly?: boolean;
  /** Context to load before evaluating (spec/policies.md §2.3: injected only when needed). */
  needs?: readonly PolicyNeed[];
  /** Asks the policy judge: registered only when the server has one (spec/policies.md §8.7). */
  judged?: boolean;
  /** Checks across params the schema cannot express; returns the problem. */
  check?(params: Readonly<Record<string, unknown>>): string | undefined;
  create(params: Readonly<Record<string, unknown>>): PolicyEvaluator;
}

/** Where a policy was declared; the engine runs them in this order (spec/policies.md §3). */
export type PolicySource = 'session' | 'spec' | 'default' | 'builtin';

/** A policy ready to run: its name, where it came from, and its instance. */
export interface BoundPolicy {
  name: string;
  source: PolicySource;
  handler: string;
  phases: readonly Phase[];
  evaluate: PolicyEvaluator;
  /** Seconds an ASK from this policy waits for a human (null: the default). */
  askTimeoutS?: number | null;
  /** Runs only when the labels match (absent: always). */
  condition?: LabelCondition;
  /** The label keys the policy may write (absent: any). */
  setLabels?: readonly string[];
  needs?: readonly PolicyNeed[];
  judged?: boolean;
}

/** The composed verdict of one evaluation (spec/policies.md §4). */
export interface EngineResult {
  result: Verdict;
  reason?: string;
  /** Policies that decided: the denier, or every asking policy in order. */
  deciding: string[];
  data?: unknown;
  /** The state writes of the evaluation, in order. */
  writes: StateUpdate[];
  /** The label writes of the evaluation (held with the state writes on ASK). */
  labels: Record<string, string>;
  /** False on ASK: the writes wait for the human's approval. */
  applyWrites: boolean;
}
