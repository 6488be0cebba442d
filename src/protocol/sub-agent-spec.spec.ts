import { AgentSpecWire } from 'src/protocol/agent-spec';
import { childAgentSpec, subAgentTool } from 'src/protocol/sub-agent-spec';
import { subAgentToolFactory } from 'test/factories';

const TOOL = subAgentToolFactory({
  description: 'Helps.',
  executor: { harness: 'echo', model: 'm' },
  max_sessions: 2,
});

const PARENT: Partial<AgentSpecWire> = {
  name: 'parent',
  os_env: { type: 'caller_process', sandbox: { type: 'none' } },
  tools: [{ name: 'shell', runtime: 'server' }, TOOL],
  policies: [{ name: 'ask', handler: 'omnigent.policies.builtins.safety.ask_on_os_tools' }],
  max_iterations: 7,
};

describe(childAgentSpec.name, () => {
  it("should run the tool's instructions and executor under the parent's policies", () => {
    expect(childAgentSpec(PARENT, TOOL)).toEqual({
      name: 'parent.helper',
      description: 'Helps.',
      instructions: 'Help.',
      executor: { harness: 'echo', model: 'm' },
      os_env: null,
      tools: [],
      policies: PARENT.policies,
      terminals: {},
      params: {},
      max_iterations: 7,
    });
  });

  it("should inherit the parent's os_env and then offer the built-in tools", () => {
    const spec = childAgentSpec(PARENT, { ...TOOL, os_env: 'inherit' });

    expect(spec.os_env).toEqual(PARENT.os_env);
    expect(spec.tools.map((t) => t.name)).toEqual([
      'list_dir',
      'read_file',
      'write_file',
      'edit_file',
      'shell',
    ]);
  });
});

describe(subAgentTool.name, () => {
  it('should find only a sub-agent tool of that name', () => {
    expect(subAgentTool(PARENT, 'helper')).toBe(TOOL);
    expect(subAgentTool(PARENT, 'shell')).toBeUndefined();
    expect(subAgentTool({}, 'helper')).toBeUndefined();
  });
});
