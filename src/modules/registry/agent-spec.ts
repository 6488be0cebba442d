import { parseAllDocuments } from 'yaml';

import {
  AgentExecutorWire,
  AgentOsEnvWire,
  AgentPolicyWire,
  AgentSandboxWire,
  AgentSpecWire,
  AgentTerminalWire,
  AgentToolWire,
  BUILTIN_TOOL_NAMES,
  isBuiltinToolName,
  SANDBOX_TYPES,
  SandboxType,
} from 'src/protocol/agent-spec';

export { BUILTIN_TOOL_NAMES } from 'src/protocol/agent-spec';

export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export const MAX_AGENT_SPEC_BYTES = 256 * 1024;

/** The harness of a spec without `executor`: the model-free echo agent. */
const DEFAULT_HARNESS = 'echo';
/**
 * The harness of an `executor` that names neither `harness` nor `type`: our model harness (any
 * OpenAI-compatible endpoint). Upstream would pick its own default harness, which no runner of
 * ours has; a block that configures a model wants that model called.
 */
const DEFAULT_EXECUTOR_HARNESS = 'openai';
const DEFAULT_MAX_ITERATIONS = 20;
const MAX_MAX_ITERATIONS = 200;
// OpenAI function names allow only these characters; client tools are passed to the model as is.
const CLIENT_TOOL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
// Terminal names travel in request bodies; they must start with a letter or `_` because JS objects
// put integer-like keys first, which would break "keep spec order".
const TERMINAL_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const HANDLER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const PROMPT_POLICY_HANDLER = 'omnigent.policies.builtins.prompt.prompt_policy';
const MAX_INSTRUCTIONS_PATH_LENGTH = 1024;

// The parsed pieces are the wire types runners receive (src/protocol/agent-spec.ts).
export type AgentExecutorSpec = AgentExecutorWire;
export type AgentOsEnvSpec = AgentOsEnvWire;
export type AgentToolSpec = AgentToolWire;
export type AgentPolicySpec = AgentPolicyWire;
export type AgentTerminalSpec = AgentTerminalWire;

export interface AgentSpec {
  name: string;
  description: string | null;
  /** `instructions` (file text when it names a bundle file) if set, else `prompt`. */
  instructions: string | null;
  executor: AgentExecutorSpec;
  osEnv: AgentOsEnvSpec | null;
  tools: AgentToolSpec[];
  policies: AgentPolicySpec[];
  /** Spec order is kept: it is the order `GET /v1/agents` reports. */
  terminals: Record<string, AgentTerminalSpec>;
  params: Record<string, unknown>;
  maxIterations: number;
  /** The whole parsed YAML, unknown top-level keys included. */
  raw: Record<string, unknown>;
}

export interface ParseAgentSpecOptions {
  /** Returns a bundle file's text, or undefined when there is no such file. */
  readBundleFile?: (relPath: string) => string | undefined;
}

/** A spec that cannot be loaded; the message names the offending field and is safe to show. */
export class AgentSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentSpecError';
  }
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw new AgentSpecError(`${field} must be a string`);
  }
  return value;
}

function optionalMapping(value: unknown, field: string): Mapping | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!isMapping(value)) {
    throw new AgentSpecError(`${field} must be a mapping`);
  }
  return value;
}

function isRelativeInsidePath(value: string): boolean {
  if (value.startsWith('/') || value.startsWith('\\') || /^[A-Za-z]:/.test(value)) {
    return false;
  }
  return !value.split(/[\\/]/).includes('..');
}

function parseYamlObject(text: string): Mapping {
  if (Buffer.byteLength(text, 'utf8') > MAX_AGENT_SPEC_BYTES) {
    throw new AgentSpecError(`agent spec must be at most ${MAX_AGENT_SPEC_BYTES / 1024} KiB`);
  }
  const documents = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true });
  if (documents.length !== 1) {
    throw new AgentSpecError(
      documents.length === 0 ? 'agent spec is empty' : 'agent spec must be a single YAML document',
    );
  }
  const [document] = documents;
  if (document.errors.length > 0) {
    throw new AgentSpecError(`agent spec is not valid YAML: ${document.errors[0].message}`);
  }
  let value: unknown;
  try {
    // A small alias budget stops "billion laughs" expansion.
    value = document.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new AgentSpecError(`agent spec is not valid YAML: ${(err as Error).message}`);
  }
  if (!isMapping(value)) {
    throw new AgentSpecError('agent spec must be a YAML mapping');
  }
  return value;
}

function parseName(value: unknown): string {
  if (value === undefined || value === null) {
    throw new AgentSpecError('name is required');
  }
  if (typeof value !== 'string') {
    throw new AgentSpecError('name must be a string');
  }
  if (!AGENT_NAME_PATTERN.test(value)) {
    throw new AgentSpecError(
      'name must be 1-128 letters, digits, "-", "_" or "." and start with a letter or digit',
    );
  }
  return value;
}

function parseInstructions(raw: Mapping, options: ParseAgentSpecOptions): string | null {
  const prompt = optionalString(raw.prompt, 'prompt');
  const instructions = optionalString(raw.instructions, 'instructions');
  if (instructions === undefined) {
    return prompt ?? null;
  }
  const candidate = instructions.trim();
  if (
    options.readBundleFile &&
    candidate.length > 0 &&
    candidate.length <= MAX_INSTRUCTIONS_PATH_LENGTH &&
    !/[\n\r\0]/.test(candidate) &&
    isRelativeInsidePath(candidate)
  ) {
    const fileText = options.readBundleFile(candidate);
    if (fileText !== undefined) {
      return fileText;
    }
  }
  return instructions;
}

function parseExecutor(value: unknown): AgentExecutorSpec {
  const executor = optionalMapping(value, 'executor');
  if (!executor) {
    return { harness: DEFAULT_HARNESS };
  }
  // Upstream makes `harness` optional and falls back to the executor's `type`.
  const harness =
    optionalString(executor.harness, 'executor.harness') ||
    optionalString(executor.type, 'executor.type') ||
    DEFAULT_EXECUTOR_HARNESS;
  const result: AgentExecutorSpec = { harness };
  const model = optionalString(executor.model, 'executor.model');
  if (model !== undefined) {
    result.model = model;
  }
  const auth = optionalMapping(executor.auth, 'executor.auth');
  if (auth) {
    result.auth = {};
    for (const key of ['type', 'api_key', 'base_url'] as const) {
      const field = optionalString(auth[key], `executor.auth.${key}`);
      if (field !== undefined) {
        result.auth[key] = field;
      }
    }
  }
  return result;
}

const MAX_WRITE_PATHS = 32;

/**
 * `os_env.sandbox`: `{type: auto|linux_bwrap|darwin_seatbelt|windows_jobobject|none|null,
 * allow_network, write_paths}`. Upstream's other keys (`egress_rules`, `credential_proxy`) are
 * accepted and not enforced; the whole mapping is kept in `raw`.
 */
function parseSandbox(value: unknown): AgentSandboxWire | undefined {
  if (value === undefined) {
    return undefined;
  }
  const sandbox = value === null ? {} : optionalMapping(value, 'os_env.sandbox');
  if (!sandbox) {
    return undefined;
  }
  const type = sandbox.type ?? null;
  if (type !== null && !(SANDBOX_TYPES as readonly unknown[]).includes(type)) {
    throw new AgentSpecError(
      `os_env.sandbox.type must be one of ${SANDBOX_TYPES.join(', ')} or null`,
    );
  }
  const result: AgentSandboxWire = { type: type as SandboxType | null };
  if (sandbox.allow_network !== undefined && sandbox.allow_network !== null) {
    if (typeof sandbox.allow_network !== 'boolean') {
      throw new AgentSpecError('os_env.sandbox.allow_network must be a boolean');
    }
    result.allow_network = sandbox.allow_network;
  }
  if (sandbox.write_paths !== undefined && sandbox.write_paths !== null) {
    if (!Array.isArray(sandbox.write_paths) || sandbox.write_paths.length > MAX_WRITE_PATHS) {
      throw new AgentSpecError(
        `os_env.sandbox.write_paths must be a list of at most ${MAX_WRITE_PATHS} paths`,
      );
    }
    result.write_paths = sandbox.write_paths.map((entry: unknown, index) => {
      if (typeof entry !== 'string' || entry === '' || entry.includes('\0')) {
        throw new AgentSpecError(`os_env.sandbox.write_paths[${index}] must be a path`);
      }
      return entry;
    });
  }
  return result;
}

function parseOsEnv(value: unknown): AgentOsEnvSpec | null {
  const osEnv = optionalMapping(value, 'os_env');
  if (!osEnv) {
    return null;
  }
  if (osEnv.type !== 'caller_process') {
    throw new AgentSpecError('os_env.type must be caller_process');
  }
  const result: AgentOsEnvSpec = { type: 'caller_process' };
  const cwd = optionalString(osEnv.cwd, 'os_env.cwd');
  if (cwd !== undefined) {
    if (!isRelativeInsidePath(cwd) || cwd.includes('\0')) {
      throw new AgentSpecError('os_env.cwd must be a relative path inside the workspace');
    }
    result.cwd = cwd;
  }
  const sandbox = parseSandbox(osEnv.sandbox);
  if (sandbox) {
    result.sandbox = sandbox;
  }
  return result;
}

function parseTool(entry: unknown, field: string): AgentToolSpec {
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
  const name = optionalString(entry.name, `${field}.name`);
  if (name === undefined) {
    throw new AgentSpecError(`${field}.name is required`);
  }
  if (entry.runtime === 'server') {
    if (!isBuiltinToolName(name)) {
      throw new AgentSpecError(`${field}.name must be one of ${BUILTIN_TOOL_NAMES.join(', ')}`);
    }
    return { name, runtime: 'server' };
  }
  if (entry.runtime !== 'client') {
    throw new AgentSpecError(`${field}.runtime must be client or server`);
  }
  if (!CLIENT_TOOL_NAME_PATTERN.test(name)) {
    throw new AgentSpecError(`${field}.name must be 1-64 letters, digits, "_" or "-"`);
  }
  const tool: AgentToolSpec = { name, runtime: 'client' };
  const description = optionalString(entry.description, `${field}.description`);
  if (description !== undefined) {
    tool.description = description;
  }
  const parameters = optionalMapping(entry.parameters, `${field}.parameters`);
  if (parameters !== undefined) {
    tool.parameters = parameters;
  }
  return tool;
}

function parseTools(value: unknown, osEnv: AgentOsEnvSpec | null): AgentToolSpec[] {
  if (value === undefined || value === null) {
    return osEnv ? BUILTIN_TOOL_NAMES.map((name) => ({ name, runtime: 'server' })) : [];
  }
  if (!Array.isArray(value)) {
    throw new AgentSpecError('tools must be a list');
  }
  const seen = new Set<string>();
  return value.map((entry, index) => {
    const tool = parseTool(entry, `tools[${index}]`);
    if (seen.has(tool.name)) {
      throw new AgentSpecError(`tools[${index}] repeats the tool ${tool.name}`);
    }
    seen.add(tool.name);
    return tool;
  });
}

function parsePolicy(name: string, value: unknown, field: string): AgentPolicySpec {
  if (name.length === 0) {
    throw new AgentSpecError(`${field}.name must not be empty`);
  }
  const policy = optionalMapping(value, field);
  if (!policy) {
    throw new AgentSpecError(`${field}.handler is required`);
  }
  if (policy.type !== undefined && policy.type !== null && policy.type !== 'function') {
    throw new AgentSpecError(
      policy.type === 'prompt'
        ? `${field}.type prompt is not supported; use handler ${PROMPT_POLICY_HANDLER}`
        : `${field}.type must be function`,
    );
  }
  // Upstream also spells the handler `function:`, and either may be `{path, arguments}`.
  const handlerKey = policy.handler !== undefined ? 'handler' : 'function';
  let handler: unknown = policy[handlerKey];
  let factoryParams: unknown = policy.factory_params;
  if (isMapping(handler)) {
    factoryParams = factoryParams ?? handler.arguments;
    handler = handler.path;
  }
  if (handler === undefined || handler === null) {
    throw new AgentSpecError(`${field}.handler is required`);
  }
  if (typeof handler !== 'string' || !HANDLER_PATTERN.test(handler)) {
    throw new AgentSpecError(`${field}.${handlerKey} must be a dotted handler id`);
  }
  const result: AgentPolicySpec = { name, handler };
  const params = optionalMapping(factoryParams, `${field}.factory_params`);
  if (params !== undefined) {
    result.factory_params = params;
  }
  if (policy.ask_timeout !== undefined && policy.ask_timeout !== null) {
    // Seconds an ASK of this policy waits for the human (spec/policies.md §2.4).
    if (typeof policy.ask_timeout !== 'number' || !(policy.ask_timeout > 0)) {
      throw new AgentSpecError(`${field}.ask_timeout must be a number of seconds > 0`);
    }
    result.ask_timeout = policy.ask_timeout;
  }
  return result;
}

function parsePolicies(value: unknown): AgentPolicySpec[] {
  if (value === undefined || value === null) {
    return [];
  }
  let policies: AgentPolicySpec[];
  if (Array.isArray(value)) {
    policies = value.map((entry, index) => {
      const field = `policies[${index}]`;
      if (!isMapping(entry)) {
        throw new AgentSpecError(`${field} must be a mapping`);
      }
      const name = optionalString(entry.name, `${field}.name`);
      if (name === undefined) {
        throw new AgentSpecError(`${field}.name is required`);
      }
      return parsePolicy(name, entry, field);
    });
  } else if (isMapping(value)) {
    policies = Object.entries(value).map(([name, entry]) =>
      parsePolicy(name, entry, `policies.${name}`),
    );
  } else {
    throw new AgentSpecError('policies must be a list or a mapping');
  }
  const seen = new Set<string>();
  for (const policy of policies) {
    if (seen.has(policy.name)) {
      throw new AgentSpecError(`policies repeats the name ${policy.name}`);
    }
    seen.add(policy.name);
  }
  return policies;
}

function parseTerminal(value: unknown, field: string): AgentTerminalSpec {
  const terminal = optionalMapping(value, field) ?? {};
  const result: AgentTerminalSpec = {};
  const command = optionalString(terminal.command, `${field}.command`);
  if (command !== undefined) {
    result.command = command;
  }
  if (terminal.args !== undefined && terminal.args !== null) {
    if (!Array.isArray(terminal.args)) {
      throw new AgentSpecError(`${field}.args must be a list of strings`);
    }
    result.args = terminal.args.map((arg: unknown, index) => {
      if (typeof arg !== 'string') {
        throw new AgentSpecError(`${field}.args[${index}] must be a string`);
      }
      return arg;
    });
  }
  const cwd = optionalString(terminal.cwd, `${field}.cwd`);
  if (cwd !== undefined) {
    result.cwd = cwd;
  }
  const env = optionalMapping(terminal.env, `${field}.env`);
  if (env !== undefined) {
    result.env = {};
    for (const [key, envValue] of Object.entries(env)) {
      if (typeof envValue !== 'string') {
        throw new AgentSpecError(`${field}.env.${key} must be a string`);
      }
      result.env[key] = envValue;
    }
  }
  return result;
}

function parseTerminals(value: unknown): Record<string, AgentTerminalSpec> {
  const terminals = optionalMapping(value, 'terminals');
  const result: Record<string, AgentTerminalSpec> = {};
  for (const [name, entry] of Object.entries(terminals ?? {})) {
    if (!TERMINAL_NAME_PATTERN.test(name)) {
      throw new AgentSpecError(
        `terminals.${name.slice(0, 64)} must be named with letters, digits, "_", "-" or "." and start with a letter or "_"`,
      );
    }
    result[name] = parseTerminal(entry, `terminals.${name}`);
  }
  return result;
}

function parseMaxIterations(value: unknown): number {
  if (value === undefined || value === null) {
    return DEFAULT_MAX_ITERATIONS;
  }
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_MAX_ITERATIONS
  ) {
    throw new AgentSpecError(
      `max_iterations must be an integer between 1 and ${MAX_MAX_ITERATIONS}`,
    );
  }
  return value;
}

/**
 * Parses and validates one agent spec (`config.yaml` or a file of `agents/`). Throws
 * AgentSpecError naming the field on the first problem.
 */
export function parseAgentSpec(text: string, options: ParseAgentSpecOptions = {}): AgentSpec {
  const raw = parseYamlObject(text);
  const name = parseName(raw.name);
  const description = optionalString(raw.description, 'description');
  const osEnv = parseOsEnv(raw.os_env);
  return {
    name,
    description: description ?? null,
    instructions: parseInstructions(raw, options),
    executor: parseExecutor(raw.executor),
    osEnv,
    tools: parseTools(raw.tools, osEnv),
    policies: parsePolicies(raw.policies),
    terminals: parseTerminals(raw.terminals),
    params: optionalMapping(raw.params, 'params') ?? {},
    maxIterations: parseMaxIterations(raw.max_iterations),
    raw,
  };
}

/** The resolved spec as runners receive it: the YAML's snake_case keys, defaults applied. */
export function agentSpecToJson(spec: AgentSpec): AgentSpecWire {
  return structuredClone({
    name: spec.name,
    description: spec.description,
    instructions: spec.instructions,
    executor: spec.executor,
    os_env: spec.osEnv,
    tools: spec.tools,
    policies: spec.policies,
    terminals: spec.terminals,
    params: spec.params,
    max_iterations: spec.maxIterations,
  });
}
