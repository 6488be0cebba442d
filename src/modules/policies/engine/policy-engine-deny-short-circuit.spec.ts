import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { fixedPolicy, toolCallEvent } from 'test/factories/policy.factory';

describe('policy engine: the first DENY short-circuits', () => {
  it('should stop at the first DENY and name it as the decider', () => {
    const later = jest.fn();
    const result = evaluatePolicies(
      [
        fixedPolicy('allow', { result: 'ALLOW' }),
        fixedPolicy('deny', { result: 'DENY', reason: 'nope' }),
        fixedPolicy('later', later),
      ],
      toolCallEvent('shell'),
    );
    expect(result).toMatchObject({ result: 'DENY', reason: 'nope', deciding: ['deny'] });
    expect(later).not.toHaveBeenCalled();
  });

  it('should apply the writes of earlier ALLOW policies and of the denier', () => {
    const result = evaluatePolicies(
      [
        fixedPolicy('count', {
          result: 'ALLOW',
          state_updates: [{ key: 'a', action: 'increment', value: 1 }],
        }),
        fixedPolicy('deny', { result: 'deny', state_updates: { b: 'x' } }),
      ],
      toolCallEvent('shell'),
    );
    expect(result.result).toBe('DENY');
    expect(result.applyWrites).toBe(true);
    expect(result.writes).toEqual([
      { key: 'a', action: 'increment', value: 1 },
      { key: 'b', action: 'set', value: 'x' },
    ]);
  });
});
