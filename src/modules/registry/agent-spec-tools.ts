import {
  ContainerToolDto,
  FunctionToolDto,
  McpToolDto,
  SubAgentToolDto,
} from 'src/modules/registry/dto/agent-spec-entries.dto';
import {
  AgentSpecError,
  assertUniqueNames,
  isMapping,
  Mapping,
  pick,
  validated,
} from 'src/modules/registry/agent-spec-validation';
import {
  AgentExecutorWire,
  AgentOsEnvWire,
  AgentSubAgentToolWire,
  AgentToolWire,
  BUILTIN_TOOL_NAMES,
  isBuiltinToolName,
} from 'src/protocol/agent-spec';

// OpenAI function names allow only these characters; tools are passed to the model by name.
const TOOL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** What a sub-agent tool inherits or resolves through its parent spec. */
export interface ToolParent {
  executor: AgentExecutorWire;
  /** The agent's own instructions, for `self`. */
  selfInstructions: string | null;
  toExecutor(dto: SubAgentToolDto['executor']): AgentExecutorWire;
  toOsEnv(dto: Exclude<SubAgentToolDto['os_env'], 'inherit'>): AgentOsEnvWire | null;
  instructions(
    instructions: string | undefined,
    prompt: string | undefined,
    field: string,
  ): string | null;
}

function checkToolName(name: string, field: string): void {
  if (!TOOL_NAME_PATTERN.test(name)) {
    throw new AgentSpecError(`${field} must be named with 1-64 letters, digits, "_" or "-"`);
  }
}

/** Our list form: built-in names, or `{name, runtime: client|server, description, parameters}`. */
function listTool(entry: unknown, field: string): AgentToolWire {
  if (typeof entry === 'string') {
    if (!isBuiltinToolName(entry)) {
      throw new AgentSpecError(
        `${field} must be one of ${BUILTIN_TOOL_NAMES.join(', ')} (got "${entry.slice(0, 64)}")`,
      );
    }
    return { name: entry, runtime: 'server' };
  }
  if (!isMapping(entry)) {
    throw new AgentSpecError(`${field} must be a tool name or a {name, runtime} mapping`);
  }
  if (typeof entry.name !== 'string') {
    throw new AgentSpecError(`${field}.name is required`);
  }
  const name = entry.name;
  if (entry.runtime === 'server') {
    if (!isBuiltinToolName(name)) {
      throw new AgentSpecError(`${field}.name must be one of ${BUILTIN_TOOL_NAMES.join(', ')}`);
    }
    return { name, runtime: 'server' };
  }
  if (entry.runtime !== 'client') {
    throw new AgentSpecError(`${field}.runtime must be client or server`);
  }
  checkToolName(name, `${field}.name`);
  const dto = validated(FunctionToolDto, { ...entry, type: 'function' }, field);
  return clientTool(name, dto);
}

function clientTool(name: string, dto: FunctionToolDto): AgentToolWire {
  return {
    name,
    runtime: 'client',
    ...(dto.description !== undefined && { description: dto.description }),
    ...(dto.parameters !== undefined && { parameters: dto.parameters as Mapping }),
  };
}

/** `self` (or `{type: agent, spec: self}`): a sub-agent running the agent's own spec. */
function selfAgent(
  name: string,
  parent: ToolParent,
  dto: Partial<SubAgentToolDto>,
): AgentSubAgentToolWire {
  return {
    name,
    runtime: 'agent',
    description: dto.description ?? 'Runs a fresh copy of this agent on a sub-task.',
    instructions: parent.selfInstructions,
    executor: structuredClone(parent.executor),
    os_env: 'inherit',
    pass_history: dto.pass_history ?? false,
    max_sessions: dto.max_sessions ?? null,
  };
}

function mapTool(name: string, entry: unknown, parent: ToolParent): AgentToolWire {
  const field = `tools.${name}`;
  checkToolName(name, field);
  if (entry === 'self') {
    return selfAgent(name, parent, {});
  }
  if (entry === 'inherit') {
    return {
      name,
      runtime: 'unavailable',
      kind: entry,
      reason: `tools.${name}: inherit tool references are not supported by this server's runners`,
    };
  }
  if (!isMapping(entry)) {
    throw new AgentSpecError(`${field} must be a mapping, inherit or self`);
  }
  switch (entry.type) {
    case 'mcp': {
      const dto = validated(McpToolDto, entry, field);
      return {
        name,
        runtime: 'mcp',
        transport: dto.url ? 'http' : 'stdio',
        ...pick(dto, ['command', 'args', 'env', 'cwd', 'url', 'headers', 'tools', 'description']),
      };
    }
    case 'function': {
      const dto = validated(FunctionToolDto, entry, field);
      if (dto.runtime === 'client') {
        return clientTool(name, dto);
      }
      return {
        name,
        runtime: 'unavailable',
        kind: 'callable',
        reason: `the Python callable ${dto.callable} cannot run on this server's runners`,
        ...(dto.description !== undefined && { description: dto.description }),
        ...(dto.parameters !== undefined && { parameters: dto.parameters as Mapping }),
      };
    }
    case 'agent': {
      const dto = validated(SubAgentToolDto, entry, field);
      if (dto.spec === 'self') {
        return selfAgent(name, parent, dto);
      }
      return {
        name,
        runtime: 'agent',
        ...(dto.description !== undefined && { description: dto.description }),
        instructions: parent.instructions(dto.instructions, dto.prompt, `${field}.instructions`),
        executor: dto.executor ? parent.toExecutor(dto.executor) : structuredClone(parent.executor),
        os_env: dto.os_env === 'inherit' ? 'inherit' : parent.toOsEnv(dto.os_env),
        pass_history: dto.pass_history ?? false,
        max_sessions: dto.max_sessions ?? null,
      };
    }
    default: {
      if (entry.type === undefined && (entry.container_image || entry.docker_image)) {
        const dto = validated(ContainerToolDto, entry, field);
        return {
          name,
          runtime: 'unavailable',
          kind: 'container',
          reason: `container image tools (${dto.container_image ?? dto.docker_image}) cannot run on this server's runners`,
          ...(dto.description !== undefined && { description: dto.description }),
        };
      }
      throw new AgentSpecError(`${field}.type must be one of mcp, function, agent`);
    }
  }
}

/** `tools`: upstream's map of name → tool, or our list of names / `{name, runtime}`. */
export function parseTools(
  value: unknown,
  osEnv: AgentOsEnvWire | null,
  parent: ToolParent,
): AgentToolWire[] {
  const builtins = (): AgentToolWire[] =>
    osEnv ? BUILTIN_TOOL_NAMES.map((name) => ({ name, runtime: 'server' })) : [];
  let tools: AgentToolWire[];
  if (value === undefined || value === null) {
    return builtins();
  } else if (Array.isArray(value)) {
    tools = value.map((entry, index) => listTool(entry, `tools[${index}]`));
  } else if (isMapping(value)) {
    // Upstream's map form: the OS tools come with os_env, the map adds the rest.
    const declared = Object.entries(value).map(([name, entry]) => mapTool(name, entry, parent));
    const names = new Set(declared.map((tool) => tool.name));
    tools = [...builtins().filter((tool) => !names.has(tool.name)), ...declared];
  } else {
    throw new AgentSpecError('tools must be a mapping of name to tool (or a list of tool names)');
  }
  assertUniqueNames(tools, 'tools', 'tool');
  return tools;
}
