import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { fixedPolicy, toolCallEvent } from 'test/factories/policy.factory';

describe('policy engine: ASKs are collected', () => {
  it('should join the reasons in order and withhold the writes', () => {
    const result = evaluatePolicies(
      [
        fixedPolicy('first', { result: 'ASK', reason: 'one', state_updates: { k: 1 } }),
        fixedPolicy('allow', { result: 'ALLOW' }),
        fixedPolicy('second', { result: 'ASK' }),
      ],
      toolCallEvent('shell'),
    );
    expect(result).toMatchObject({
      result: 'ASK',
      reason: 'first: one; second: approval required',
      deciding: ['first', 'second'],
      applyWrites: false,
      writes: [{ key: 'k', action: 'set', value: 1 }],
    });
  });

  it('should ALLOW when every policy allows or abstains', () => {
    const result = evaluatePolicies(
      [fixedPolicy('abstain', undefined), fixedPolicy('allow', { result: 'ALLOW' })],
      toolCallEvent('shell'),
    );
    expect(result).toMatchObject({ result: 'ALLOW', deciding: [], applyWrites: true });
  });
});
