import {
  PolicyDecision,
  PolicyEvent,
  PolicyHandlerDef,
} from 'src/modules/policies/engine/policy.types';

const COST = 'omnigent.policies.builtins.cost';

/** Approved soft threshold of the session tree (kept in the root conversation's state). */
export const COST_APPROVED_KEY = '_policy_cost_ask_approved_usd';
/** Set once a human approved running on with unpriced usage (root conversation's state). */
export const COST_UNPRICED_KEY = '_policy_cost_unpriced_approved';
/** Approved soft threshold of the owner's UTC day (kept per user and day). */
export const DAILY_APPROVED_KEY = '_policy_user_daily_ask_approved_usd';

const DEFAULT_EXPENSIVE = ['fable', 'opus', 'gpt-5'];
const CHEAP_SUFFIXES = ['-mini', '-nano'];

const usd = { type: 'number', exclusiveMinimum: 0, maximum: 1_000_000_000 };
const costProperties = {
  max_cost_usd: usd,
  ask_thresholds_usd: { type: 'array', maxItems: 32, items: usd },
  expensive_models: {
    type: 'array',
    maxItems: 64,
    items: { type: 'string', minLength: 1, maxLength: 256 },
  },
};

/**
 * Whether the hard limit applies to `model`: an explicit list matches as case-insensitive
 * substrings, `[]` matches every model (a true hard stop), the default tokens (fable, opus,
 * gpt-5) skip `-mini`/`-nano` variants. An unknown model counts as expensive (fail closed).
 */
export function isExpensiveModel(model: string | null, expensive: string[] | undefined): boolean {
  if (expensive && expensive.length === 0) {
    return true;
  }
  if (!model) {
    return true;
  }
  const name = model.toLowerCase();
  if (expensive) {
    return expensive.some((token) => name.includes(token.toLowerCase()));
  }
  return (
    DEFAULT_EXPENSIVE.some((token) => name.includes(token)) &&
    !CHEAP_SUFFIXES.some((suffix) => name.includes(suffix))
  );
}

const money = (value: number) => `$${value.toFixed(2)}`;

interface Spend {
  what: string;
  cost: number;
  unpricedTokens: number;
  approvedKey: string;
}

/** The shared gate of the cost handlers (spec/policies.md §7 Cost). */
function costGate(
  params: Readonly<Record<string, unknown>>,
  event: PolicyEvent,
  spend: Spend,
): PolicyDecision | undefined {
  const max = params.max_cost_usd as number | undefined;
  const thresholds = [...((params.ask_thresholds_usd as number[] | undefined) ?? [])].sort(
    (a, b) => a - b,
  );
  const expensive = params.expensive_models as string[] | undefined;
  const state = event.session_state;
  if (spend.unpricedTokens > 0 && state[COST_UNPRICED_KEY] !== true) {
    return {
      result: 'ASK',
      reason:
        `${spend.unpricedTokens} tokens were used whose cost is unknown (the model reports no ` +
        `price), so the ${spend.what} budget cannot be checked for them; approve to go on`,
      state_updates: [{ key: COST_UNPRICED_KEY, action: 'set', value: true }],
    };
  }
  if (max !== undefined && spend.cost >= max && isExpensiveModel(event.context.model, expensive)) {
    return {
      result: 'DENY',
      reason: `The ${spend.what} cost ${money(spend.cost)} reached the budget of ${money(max)}`,
    };
  }
  const crossed = thresholds.filter((t) => spend.cost >= t).pop();
  const approved = Number(state[spend.approvedKey] ?? 0);
  if (crossed !== undefined && crossed > approved) {
    return {
      result: 'ASK',
      reason: `The ${spend.what} cost ${money(spend.cost)} crossed ${money(crossed)}; approve to go on`,
      state_updates: [{ key: spend.approvedKey, action: 'set', value: crossed }],
    };
  }
  return undefined;
}

function thresholdsBelowMax(params: Readonly<Record<string, unknown>>): string | undefined {
  const max = params.max_cost_usd as number | undefined;
  const thresholds = (params.ask_thresholds_usd as number[] | undefined) ?? [];
  if (max === undefined && thresholds.length === 0) {
    return 'factory_params needs max_cost_usd or ask_thresholds_usd';
  }
  if (max !== undefined && thresholds.some((t) => t >= max)) {
    return 'factory_params.ask_thresholds_usd must each be below max_cost_usd';
  }
  return undefined;
}

const costBudget: PolicyHandlerDef = {
  id: `${COST}.cost_budget`,
  kind: 'factory',
  name: 'Session Cost Budget',
  description:
    "Gates the session tree's LLM spend on user messages and tool calls: each of " +
    '`ask_thresholds_usd` asks once when crossed; at `max_cost_usd` it denies while the model ' +
    'is expensive (`expensive_models` substrings; default fable, opus, gpt-5 without -mini/-nano; ' +
    '[] = every model). Usage the model reports no price for asks once. Set max_cost_usd, ' +
    'ask_thresholds_usd or both.',
  paramsSchema: { type: 'object', additionalProperties: false, properties: costProperties },
  phases: ['request', 'tool_call'],
  needs: ['usage'],
  check: thresholdsBelowMax,
  create: (params) => (event) => {
    const usage = event.context.usage;
    return costGate(params, event, {
      what: 'session',
      cost: usage?.total_cost_usd ?? 0,
      unpricedTokens: usage?.unpriced_tokens ?? 0,
      approvedKey: COST_APPROVED_KEY,
    });
  },
};

const userDailyCostBudget: PolicyHandlerDef = {
  id: `${COST}.user_daily_cost_budget`,
  kind: 'factory',
  name: 'User Daily Cost Budget',
  description:
    "The cost_budget gate on the session owner's spend across all their sessions this UTC day; " +
    'approved thresholds are remembered per user and day.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['max_cost_usd'],
    properties: costProperties,
  },
  phases: ['request', 'tool_call'],
  needs: ['userDailyCost'],
  check: thresholdsBelowMax,
  create: (params) => (event) => {
    const daily = event.context.user_daily_cost;
    return costGate(params, event, {
      what: 'daily',
      cost: daily?.cost_usd ?? 0,
      unpricedTokens: daily?.unpriced_tokens ?? 0,
      approvedKey: DAILY_APPROVED_KEY,
    });
  },
};

export const COST_HANDLERS: PolicyHandlerDef[] = [costBudget, userDailyCostBudget];
