import {
  AgentSpecWire,
  AgentSubAgentToolWire,
  AgentToolWire,
  BUILTIN_TOOL_NAMES,
} from 'src/protocol/agent-spec';

/** The parent spec's sub-agent tool named `name`, if it has one. */
export function subAgentTool(
  spec: Partial<AgentSpecWire>,
  name: string,
): AgentSubAgentToolWire | undefined {
  return (spec.tools ?? []).find(
    (tool): tool is AgentSubAgentToolWire => tool.runtime === 'agent' && tool.name === name,
  );
}

/**
 * The agent a sub-agent's child session runs on (the server stores it as the child's
 * session-scoped agent): the tool's instructions and executor, the built-in OS tools when it has
 * an os_env (`inherit` = the parent's), and the parent's policies, so whatever the parent asks
 * about is asked about inside its sub-agents too.
 */
export function childAgentSpec(
  parent: Partial<AgentSpecWire>,
  tool: AgentSubAgentToolWire,
): AgentSpecWire {
  const osEnv = tool.os_env === 'inherit' ? (parent.os_env ?? null) : tool.os_env;
  const tools: AgentToolWire[] = osEnv
    ? BUILTIN_TOOL_NAMES.map((name) => ({ name, runtime: 'server' as const }))
    : [];
  return {
    name: `${parent.name ?? 'agent'}.${tool.name}`,
    description: tool.description ?? null,
    instructions: tool.instructions,
    executor: tool.executor,
    os_env: osEnv,
    tools,
    policies: parent.policies ?? [],
    terminals: {},
    params: {},
    max_iterations: parent.max_iterations ?? 20,
  };
}
