import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { PolicyEvent, PolicyUsage } from 'src/modules/policies/engine/policy.types';
import { isExpensiveModel } from 'src/modules/policies/handlers/cost.handlers';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { toolCallEvent } from 'test/factories/policy.factory';

const COST = 'omnigent.policies.builtins.cost';
const registry = new PolicyRegistryService();
const policy = (fn: string, params: Record<string, unknown>) =>
  registry.bind({ name: 'budget', handler: `${COST}.${fn}`, factoryParams: params }, 'session');

function spent(
  cost: number | null,
  opts: { unpriced?: number; model?: string | null; state?: Record<string, unknown> } = {},
): PolicyEvent {
  const event = toolCallEvent('shell', {}, opts.state ?? {});
  const usage: PolicyUsage = {
    input_tokens: 100,
    output_tokens: 100,
    total_tokens: 200,
    total_cost_usd: cost,
    unpriced_tokens: opts.unpriced ?? 0,
  };
  return {
    ...event,
    context: {
      ...event.context,
      model: opts.model === undefined ? 'claude-opus-4' : opts.model,
      usage,
      user_daily_cost: { cost_usd: cost ?? 0, unpriced_tokens: opts.unpriced ?? 0 },
    },
  };
}

describe('cost.cost_budget', () => {
  const budget = policy('cost_budget', { max_cost_usd: 10, ask_thresholds_usd: [5, 2] });

  it('should allow below every threshold', () => {
    expect(evaluatePolicies([budget], spent(1.5))).toMatchObject({ result: 'ALLOW', writes: [] });
  });

  it('should ask once per crossed threshold, the approval held as a state write', () => {
    const first = evaluatePolicies([budget], spent(2.5));
    expect(first).toMatchObject({
      result: 'ASK',
      reason: 'budget: The session cost $2.50 crossed $2.00; approve to go on',
      applyWrites: false,
      writes: [{ key: '_policy_cost_ask_approved_usd', action: 'set', value: 2 }],
    });
    const approved = { _policy_cost_ask_approved_usd: 2 };
    expect(evaluatePolicies([budget], spent(3, { state: approved })).result).toBe('ALLOW');
    expect(evaluatePolicies([budget], spent(6, { state: approved }))).toMatchObject({
      result: 'ASK',
      writes: [{ key: '_policy_cost_ask_approved_usd', value: 5 }],
    });
  });

  it('should deny at the hard limit while the model is expensive', () => {
    const state = { _policy_cost_ask_approved_usd: 5 };
    expect(evaluatePolicies([budget], spent(10, { state }))).toMatchObject({
      result: 'DENY',
      reason: 'The session cost $10.00 reached the budget of $10.00',
    });
    expect(evaluatePolicies([budget], spent(12, { state, model: 'gpt-5-mini' })).result).toBe(
      'ALLOW',
    );
  });

  it('should ask once when tokens were used without a price', () => {
    const first = evaluatePolicies([budget], spent(null, { unpriced: 200 }));
    expect(first).toMatchObject({
      result: 'ASK',
      writes: [{ key: '_policy_cost_unpriced_approved', action: 'set', value: true }],
    });
    expect(first.reason).toMatch(/200 tokens were used whose cost is unknown/);
    const after = spent(null, { unpriced: 400, state: { _policy_cost_unpriced_approved: true } });
    expect(evaluatePolicies([budget], after).result).toBe('ALLOW');
  });

  it('should act on requests and tool calls only', () => {
    const response = { ...spent(50), type: 'response' as const };
    expect(evaluatePolicies([budget], response).result).toBe('ALLOW');
  });

  it.each([
    [{}, /needs max_cost_usd or ask_thresholds_usd/],
    [{ max_cost_usd: 5, ask_thresholds_usd: [5] }, /must each be below max_cost_usd/],
    [{ max_cost_usd: 0 }, /max_cost_usd must be > 0/],
    [{ max_cost_usd: 1, limit: 2 }, /unknown key 'limit'/],
  ])('should refuse params %j', (bad, message) => {
    expect(() => registry.validateParams(`${COST}.cost_budget`, bad)).toThrow(message);
  });
});

describe('cost.user_daily_cost_budget', () => {
  it("should gate the owner's daily spend with its own approval key", () => {
    const daily = policy('user_daily_cost_budget', { max_cost_usd: 3, ask_thresholds_usd: [1] });
    expect(evaluatePolicies([daily], spent(1.2))).toMatchObject({
      result: 'ASK',
      reason: 'budget: The daily cost $1.20 crossed $1.00; approve to go on',
      writes: [{ key: '_policy_user_daily_ask_approved_usd', value: 1 }],
    });
    const state = { _policy_user_daily_ask_approved_usd: 1 };
    expect(evaluatePolicies([daily], spent(3, { state })).result).toBe('DENY');
  });

  it('should require max_cost_usd', () => {
    expect(() =>
      registry.validateParams(`${COST}.user_daily_cost_budget`, { ask_thresholds_usd: [1] }),
    ).toThrow(/must have required property 'max_cost_usd'/);
  });
});

describe(isExpensiveModel.name, () => {
  it.each([
    ['claude-opus-4', undefined, true],
    ['gpt-5', undefined, true],
    ['gpt-5-mini', undefined, false],
    ['GPT-5-NANO', undefined, false],
    ['gpt-4o', undefined, false],
    [null, undefined, true],
    ['gpt-4o', [], true],
    ['My-Big-Model', ['big'], true],
    ['gpt-5', ['big'], false],
  ])('%s with %j is expensive: %s', (model, list, expected) => {
    expect(isExpensiveModel(model, list as string[] | undefined)).toBe(expected);
  });
});
