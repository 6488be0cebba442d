import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { toolCallEvent } from 'test/factories/policy.factory';

const registry = new PolicyRegistryService();
const policy = (id: string, params?: Record<string, unknown>) =>
  registry.bind(
    { name: id, handler: `omnigent.policies.builtins.${id}`, factoryParams: params },
    'spec',
  );
const verdict = (p: ReturnType<typeof policy>, ...args: Parameters<typeof toolCallEvent>) =>
  evaluatePolicies([p], toolCallEvent(...args)).result;

describe('orchestration and context handlers', () => {
  it('read_only_os should deny file changes and allow reads', () => {
    const p = policy('orchestration.read_only_os');
    expect(verdict(p, 'write_file', { path: 'a' })).toBe('DENY');
    expect(verdict(p, 'Edit')).toBe('DENY');
    expect(verdict(p, 'read_file', { path: 'a' })).toBe('ALLOW');
  });

  it('worktree_guard should deny absolute and parent paths', () => {
    const p = policy('orchestration.worktree_guard');
    expect(verdict(p, 'write_file', { path: '/etc/passwd' })).toBe('DENY');
    expect(verdict(p, 'edit_file', { path: 'src/../../x' })).toBe('DENY');
    expect(verdict(p, 'write_file', { path: 'src/a.ts' })).toBe('ALLOW');
  });

  it('headless_subagent_purpose_guard should require an allowed purpose', () => {
    const p = policy('orchestration.headless_subagent_purpose_guard');
    expect(verdict(p, 'sys_session_send', { purpose: 'review' })).toBe('ALLOW');
    expect(verdict(p, 'sys_session_send', { purpose: 'mine bitcoin' })).toBe('DENY');
    expect(verdict(p, 'sys_session_send', {})).toBe('DENY');
  });

  it('spawn_bounds should count dispatches per turn', () => {
    const p = policy('orchestration.spawn_bounds', { max_dispatches_per_turn: 1 });
    const first = evaluatePolicies([p], toolCallEvent('sys_session_send'));
    expect(first.result).toBe('ALLOW');
    const state = { _policy_spawn_dispatches: first.writes[0].value };
    expect(verdict(p, 'sys_session_send', {}, state)).toBe('DENY');
    const nextTurn = toolCallEvent('sys_session_send', {}, state);
    nextTurn.context.turn_id = 'resp_2';
    expect(evaluatePolicies([p], nextTurn).result).toBe('ALLOW');
  });

  it('detect_thrashing should act after consecutive errors', () => {
    const p = policy('context.detect_thrashing', { consecutive_threshold: 2, action: 'DENY' });
    const result = (output: string, state = {}) => ({
      ...toolCallEvent('shell', {}, state, 'tool_result'),
      data: { result: output },
    });
    const first = evaluatePolicies([p], result('Error: boom'));
    expect(first.result).toBe('ALLOW');
    const state = { _policy_thrashing: first.writes[0].value };
    expect(evaluatePolicies([p], result('{"error":"again"}', state)).result).toBe('DENY');
    expect(evaluatePolicies([p], result('all good', state)).result).toBe('ALLOW');
  });
});
