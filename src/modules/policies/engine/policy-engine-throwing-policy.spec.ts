import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { fixedPolicy, toolCallEvent } from 'test/factories/policy.factory';

describe('policy engine: a failing policy denies', () => {
  it('should DENY when a policy throws', () => {
    const result = evaluatePolicies(
      [
        fixedPolicy('boom', () => {
          throw new Error('kaput');
        }),
      ],
      toolCallEvent('shell'),
    );
    expect(result).toMatchObject({
      result: 'DENY',
      reason: "policy 'boom' failed: kaput",
      deciding: ['boom'],
    });
  });

  it('should DENY on an invalid verdict', () => {
    const result = evaluatePolicies(
      [fixedPolicy('odd', { result: 'MAYBE' } as never)],
      toolCallEvent('shell'),
    );
    expect(result.result).toBe('DENY');
  });

  it('should DENY when a policy appends to a value that is not a list', () => {
    const result = evaluatePolicies(
      [
        fixedPolicy('append', {
          result: 'ALLOW',
          state_updates: [{ key: 'n', action: 'append', value: 1 }],
        }),
      ],
      toolCallEvent('shell', {}, { n: 5 }),
    );
    expect(result).toMatchObject({ result: 'DENY', deciding: ['append'], writes: [] });
  });
});
