import {
  applyStateUpdates,
  evaluatePolicies,
} from 'src/modules/policies/engine/policy-engine.util';
import { fixedPolicy, toolCallEvent } from 'test/factories/policy.factory';

describe('policy engine: data and state', () => {
  it('should feed rewritten data to the next policy and return it', () => {
    const seen: unknown[] = [];
    const result = evaluatePolicies(
      [
        fixedPolicy('rewrite', {
          result: 'ALLOW',
          data: { name: 'shell', arguments: { command: 'ls' } },
        }),
        fixedPolicy('look', (event) => {
          seen.push(event.data);
          return undefined;
        }),
      ],
      toolCallEvent('shell', { command: 'rm -rf /' }),
    );
    expect(seen).toEqual([{ name: 'shell', arguments: { command: 'ls' } }]);
    expect(result.data).toEqual({ name: 'shell', arguments: { command: 'ls' } });
  });

  it('should let a later policy see the state written by an earlier one', () => {
    const seen: unknown[] = [];
    evaluatePolicies(
      [
        fixedPolicy('inc', { result: 'ALLOW', state_updates: [{ key: 'n', action: 'increment' }] }),
        fixedPolicy('look', (event) => {
          seen.push(event.session_state.n);
          return undefined;
        }),
      ],
      toolCallEvent('shell', {}, { n: 2 }),
    );
    expect(seen).toEqual([3]);
  });

  it('should apply set, increment, delete and append', () => {
    expect(
      applyStateUpdates({ a: 1, b: 2, l: [1] }, [
        { key: 'a', action: 'increment', value: 2 },
        { key: 'b', action: 'delete' },
        { key: 'l', action: 'append', value: 2 },
        { key: 'new', action: 'append', value: 'x' },
        { key: 's', action: 'set', value: 'v' },
      ]),
    ).toEqual({ a: 3, l: [1, 2], new: ['x'], s: 'v' });
  });

  it('should skip policies that do not act on the phase', () => {
    const policy = { ...fixedPolicy('tools', { result: 'DENY' }), phases: ['tool_call' as const] };
    expect(evaluatePolicies([policy], toolCallEvent('shell', {}, {}, 'request')).result).toBe(
      'ALLOW',
    );
  });
});
