import Ajv from 'ajv';

import type { AppConfig } from 'src/config/app-config';
import {
  PolicyParamsError,
  PolicyRegistryService,
} from 'src/modules/policies/policy-registry.service';

const MAX = 'omnigent.policies.builtins.safety.max_tool_calls_per_session';
const ASK = 'omnigent.policies.builtins.safety.ask_on_os_tools';

describe(PolicyRegistryService.name, () => {
  const registry = new PolicyRegistryService();

  it('should list the built-ins under upstream ids, internal ones hidden', () => {
    const handlers = registry.list().map((e) => e.handler);
    expect(handlers).toEqual(expect.arrayContaining([MAX, ASK]));
    expect(handlers).not.toContain('omnigent.policies.builtins.safety.ask_on_add_policy');
    expect(registry.list().find((e) => e.handler === ASK)).toMatchObject({
      kind: 'callable',
      params_schema: null,
      internal_only: false,
    });
  });

  it.each([
    'child_process.exec',
    '__proto__',
    'constructor',
    'toString',
    '../../etc/passwd',
    'x'.repeat(5000),
  ])('should not know %s', (handler) => {
    expect(registry.has(handler)).toBe(false);
    expect(() => registry.validateParams(handler, {})).toThrow(PolicyParamsError);
  });

  it('should apply defaults and freeze params', () => {
    const params = registry.validateParams(MAX, {});
    expect(params).toEqual({ limit: 100 });
    expect(Object.isFrozen(params)).toBe(true);
  });

  it.each([
    [{ limit: 'ten' }, /limit must be integer/],
    [{ limit: -1 }, /limit must be >= 0/],
    [{ lmit: 3 }, /unknown key 'lmit'/],
    [[1], /must be an object/],
    [JSON.parse('{"__proto__": {"x": 1}}'), /__proto__/],
  ])('should refuse bad params %j', (params, message) => {
    expect(() => registry.validateParams(MAX, params)).toThrow(message);
  });

  it('should refuse params for a callable', () => {
    expect(() => registry.validateParams(ASK, { a: 1 })).toThrow(/takes no factory_params/);
    expect(registry.validateParams(ASK, {})).toEqual({});
  });

  it('should require the required params', () => {
    expect(() =>
      registry.validateParams('omnigent.policies.builtins.safety.block_skills', {}),
    ).toThrow(/blocked/);
  });

  it('should compile a handler schema on its first use only, not at construction', () => {
    const compile = jest.spyOn(Ajv.prototype, 'compile');
    try {
      const fresh = new PolicyRegistryService();
      expect(compile).not.toHaveBeenCalled();
      fresh.validateParams(MAX, {});
      fresh.validateParams(MAX, { limit: 3 });
      fresh.validateParams(ASK, {});
      expect(compile).toHaveBeenCalledTimes(1);
    } finally {
      compile.mockRestore();
    }
  });

  it('should compile every handler schema in strict mode, the judged ones included', () => {
    const judged = new PolicyRegistryService({
      policies: { judge: { model: 'judge' } },
    } as unknown as AppConfig);
    const handlers = judged.list().map((e) => e.handler);
    expect(handlers.length).toBeGreaterThan(registry.list().length);
    for (const handler of handlers) {
      try {
        judged.validateParams(handler, {});
      } catch (error) {
        // Missing required params are fine here; a schema Ajv refuses is not.
        expect(error).toBeInstanceOf(PolicyParamsError);
      }
    }
  });
});
