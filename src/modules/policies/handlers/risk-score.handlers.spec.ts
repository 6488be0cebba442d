import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { PolicyEvent } from 'src/modules/policies/engine/policy.types';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { toolCallEvent } from 'test/factories/policy.factory';

const HANDLER = 'omnigent.policies.builtins.risk_score.risk_score_policy';
const registry = new PolicyRegistryService();
const policy = (params: Record<string, unknown> = {}) =>
  registry.bind({ name: 'risk', handler: HANDLER, factoryParams: params }, 'session');

function resultEvent(tool: string, result: unknown, state: Record<string, unknown> = {}) {
  const event: PolicyEvent = {
    ...toolCallEvent(tool, {}, state, 'tool_result'),
    data: { result: typeof result === 'string' ? result : JSON.stringify(result) },
  };
  return event;
}

describe('risk_score.risk_score_policy', () => {
  const params = {
    threshold: 10,
    tool_points: { shell: 4, fetch: 1 },
    sensitive_labels: { Confidential: 6 },
    guarded_tools: ['send_email'],
  };

  it('should add tool points per call and keep the score in the state key', () => {
    const result = evaluatePolicies(
      [policy(params)],
      toolCallEvent('shell', {}, { risk_score: 3 }),
    );
    expect(result).toMatchObject({
      result: 'ALLOW',
      writes: [{ key: 'risk_score', action: 'set', value: 7 }],
    });
  });

  it('should match MCP-prefixed tool names by their __<name> suffix', () => {
    const result = evaluatePolicies([policy(params)], toolCallEvent('web__fetch'));
    expect(result.writes).toEqual([{ key: 'risk_score', action: 'set', value: 1 }]);
    const notSuffix = evaluatePolicies([policy(params)], toolCallEvent('prefetch'));
    expect(notSuffix.writes).toEqual([]);
  });

  it('should add a sensitive label’s points once per tool result, case-insensitively', () => {
    const result = evaluatePolicies(
      [policy(params)],
      resultEvent('read_doc', { doc: { classification: 'CONFIDENTIAL' }, dlp_label: 'public' }),
    );
    expect(result.writes).toEqual([{ key: 'risk_score', action: 'set', value: 6 }]);
    expect(
      evaluatePolicies([policy(params)], resultEvent('read_doc', 'plain text')).writes,
    ).toEqual([]);
  });

  it('should escalate a guarded tool once the score reaches the threshold', () => {
    const below = evaluatePolicies(
      [policy(params)],
      toolCallEvent('send_email', {}, { risk_score: 9 }),
    );
    expect(below.result).toBe('ALLOW');
    const at = evaluatePolicies(
      [policy(params)],
      toolCallEvent('mail__send_email', {}, { risk_score: 10 }),
    );
    expect(at).toMatchObject({
      result: 'ASK',
      reason: "risk: Risk score 10 reached the threshold 10: 'mail__send_email' is guarded",
    });
    const unguarded = evaluatePolicies(
      [policy(params)],
      toolCallEvent('fetch', {}, { risk_score: 50 }),
    );
    expect(unguarded.result).toBe('ALLOW');
  });

  it('should deny instead with escalate_action DENY and a custom reason', () => {
    const p = policy({ ...params, escalate_action: 'DENY', reason: 'too risky' });
    expect(
      evaluatePolicies([p], toolCallEvent('send_email', {}, { risk_score: 10 })),
    ).toMatchObject({ result: 'DENY', reason: 'too risky' });
  });

  it('should start from the actor’s initial score', () => {
    const p = policy({ ...params, initial_scores_by_actor: { local: 8 }, state_key: 'r' });
    const result = evaluatePolicies([p], toolCallEvent('shell'));
    expect(result.writes).toEqual([{ key: 'r', action: 'set', value: 12 }]);
  });

  it.each([
    [{ escalate_action: 'MAYBE' }, /escalate_action must be equal to one of/],
    [{ tool_points: { shell: 'a' } }, /must be integer/],
    [{ guarded: [] }, /unknown key 'guarded'/],
  ])('should refuse params %j', (bad, message) => {
    expect(() => registry.validateParams(HANDLER, bad)).toThrow(message);
  });
});
