import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { fixedPolicy, toolCallEvent } from 'test/factories/policy.factory';

describe('policy engine: a DENY after an ASK', () => {
  it('should still DENY, and apply the asking policy writes with it', () => {
    const result = evaluatePolicies(
      [
        fixedPolicy('ask', { result: 'ASK', reason: 'sure?', state_updates: { asked: true } }),
        fixedPolicy('deny', { result: 'DENY', reason: 'no' }),
      ],
      toolCallEvent('shell'),
    );
    expect(result).toMatchObject({ result: 'DENY', reason: 'no', deciding: ['deny'] });
    expect(result.applyWrites).toBe(true);
    expect(result.writes).toEqual([{ key: 'asked', action: 'set', value: true }]);
  });
});
