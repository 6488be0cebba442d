import { conditionMatches, evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { BoundPolicy } from 'src/modules/policies/engine/policy.types';
import { fixedPolicy, toolCallEvent } from 'test/factories/policy.factory';

const event = (labels: Record<string, string>) =>
  toolCallEvent('shell', {}, {}, 'tool_call', labels);

function gated(name: string, condition: BoundPolicy['condition']): BoundPolicy {
  return { ...fixedPolicy(name, { result: 'DENY', reason: name }), condition };
}

describe('policy engine: label conditions', () => {
  it.each([
    [{ env: 'prod' }, { env: 'prod' }, true],
    [{ env: 'prod' }, { env: 'dev' }, false],
    [{ env: ['prod', 'staging'] }, { env: 'staging' }, true],
    [{ env: ['prod', 'staging'] }, { env: 'dev' }, false],
    [{ env: 'prod', tier: 'gold' }, { env: 'prod', tier: 'gold' }, true],
    [{ env: 'prod', tier: 'gold' }, { env: 'prod', tier: 'free' }, false],
    [{ env: 'prod' }, {}, false],
    [{ env: ['prod'] }, { other: 'prod' }, false],
    [{ constructor: 'x' }, {}, false],
  ])('condition %j on labels %j matches: %s', (condition, labels, expected) => {
    expect(conditionMatches(condition, labels)).toBe(expected);
  });

  it('should skip a policy whose condition does not match and run one whose does', () => {
    const policies = [gated('prod-only', { env: 'prod' }), gated('dev-only', { env: 'dev' })];
    const result = evaluatePolicies(policies, event({ env: 'dev' }));
    expect(result).toMatchObject({ result: 'DENY', deciding: ['dev-only'] });
    expect(evaluatePolicies(policies, event({})).result).toBe('ALLOW');
  });
});

describe('policy engine: label writes', () => {
  it('should keep whitelisted writes and drop the others', () => {
    const policy: BoundPolicy = {
      ...fixedPolicy('tag', { result: 'ALLOW', set_labels: { risk: 'high', owner: 'me' } }),
      setLabels: ['risk'],
    };
    expect(evaluatePolicies([policy], event({})).labels).toEqual({ risk: 'high' });
  });

  it('should accept any key without a whitelist but drop values outside a declared set', () => {
    const policy = fixedPolicy('tag', {
      result: 'ALLOW',
      set_labels: { risk: 'extreme', area: 'db', n: 3, 'omnigent.turn_actor': 'x' },
    });
    const result = evaluatePolicies([policy], event({}), { risk: { values: ['low', 'high'] } });
    expect(result.labels).toEqual({ area: 'db' });
  });

  it('should return the writes of every policy, later ones winning', () => {
    const result = evaluatePolicies(
      [
        fixedPolicy('a', { result: 'ALLOW', set_labels: { k: '1', a: 'x' } }),
        fixedPolicy('b', { result: 'ALLOW', set_labels: { k: '2' } }),
      ],
      event({}),
    );
    expect(result).toMatchObject({
      result: 'ALLOW',
      applyWrites: true,
      labels: { k: '2', a: 'x' },
    });
  });

  it('should hold label and state writes on ASK', () => {
    const result = evaluatePolicies(
      [
        fixedPolicy('ask', {
          result: 'ASK',
          set_labels: { approved: 'pending' },
          state_updates: [{ key: 'n', action: 'increment' }],
        }),
      ],
      event({}),
    );
    expect(result).toMatchObject({
      result: 'ASK',
      applyWrites: false,
      labels: { approved: 'pending' },
      writes: [{ key: 'n', action: 'increment' }],
    });
  });

  it("should drop a throwing policy's writes but keep earlier ones with the DENY", () => {
    const result = evaluatePolicies(
      [
        fixedPolicy('first', { result: 'ALLOW', set_labels: { seen: 'yes' } }),
        fixedPolicy('broken', () => {
          throw new Error('boom');
        }),
      ],
      event({}),
    );
    expect(result).toMatchObject({
      result: 'DENY',
      applyWrites: true,
      labels: { seen: 'yes' },
      deciding: ['broken'],
    });
  });
});
