import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { toolCallEvent } from 'test/factories/policy.factory';

const HANDLER = 'omnigent.policies.builtins.safety.enforce_sandbox';
const registry = new PolicyRegistryService();
const policy = (params: Record<string, unknown> = {}) =>
  registry.bind({ name: 'sandbox', handler: HANDLER, factoryParams: params }, 'session');

describe('safety.enforce_sandbox', () => {
  it('should abstain on every tool but sys_agent_start', () => {
    expect(evaluatePolicies([policy()], toolCallEvent('shell', { sandbox: {} }))).toEqual(
      expect.objectContaining({ result: 'ALLOW' }),
    );
    expect(evaluatePolicies([policy()], toolCallEvent('shell')).data).toBeUndefined();
  });

  it('should force the defaults over the agent sandbox and drop unknown keys', () => {
    const result = evaluatePolicies(
      [policy()],
      toolCallEvent('sys_agent_start', {
        agent: 'coder',
        sandbox: { type: 'none', allow_network: false, write_paths: ['/tmp'], mounts: ['/'] },
      }),
    );
    expect(result).toMatchObject({
      result: 'ALLOW',
      data: {
        name: 'sys_agent_start',
        arguments: {
          agent: 'coder',
          sandbox: { type: 'linux_bwrap', allow_network: true, write_paths: ['/tmp'] },
        },
      },
    });
  });

  it('should override paths and env passthrough when given', () => {
    const p = policy({
      sandbox_type: 'auto',
      allow_network: false,
      write_paths: ['/work'],
      read_paths: ['/data'],
      env_passthrough: ['HOME'],
    });
    const result = evaluatePolicies(
      [p],
      toolCallEvent('sys_agent_start', { sandbox: { write_paths: ['/'] } }),
    );
    expect((result.data as { arguments: { sandbox: unknown } }).arguments.sandbox).toEqual({
      type: 'auto',
      allow_network: false,
      write_paths: ['/work'],
      read_paths: ['/data'],
      env_passthrough: ['HOME'],
    });
  });

  it.each([
    [{ sandbox_type: 'none' }, /sandbox_type must be equal to one of/],
    [{ write_paths: '/tmp' }, /write_paths must be array/],
    [{ network: true }, /unknown key 'network'/],
  ])('should refuse params %j', (bad, message) => {
    expect(() => registry.validateParams(HANDLER, bad)).toThrow(message);
  });
});
