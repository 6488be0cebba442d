import { parseAllDocuments } from 'yaml';

import {
  parseAskTimeout,
  parseCondition,
  parseLabelDecls,
  parseSetLabels,
} from 'src/modules/registry/agent-spec-labels';
import { parseTools } from 'src/modules/registry/agent-spec-tools';
import {
  AgentSpecError,
  assertUniqueNames,
  isMapping,
  Mapping,
  pick,
  validated,
} from 'src/modules/registry/agent-spec-validation';
import { PolicyEntryDto, TerminalEntryDto } from 'src/modules/registry/dto/agent-spec-entries.dto';
import {
  AgentExecutorDto,
  AgentOsEnvDto,
  AgentSpecDto,
} from 'src/modules/registry/dto/agent-spec.dto';
import {
  AgentExecutorWire,
  AgentLabelWire,
  AgentOsEnvWire,
  AgentPolicyWire,
  AgentSpecWire,
  AgentTerminalWire,
  AgentToolWire,
  SandboxType,
} from 'src/protocol/agent-spec';

export { BUILTIN_TOOL_NAMES } from 'src/protocol/agent-spec';
export { AgentSpecError } from 'src/modules/registry/agent-spec-validation';
export { AGENT_NAME_PATTERN } from 'src/modules/registry/dto/agent-spec.dto';

export const MAX_AGENT_SPEC_BYTES = 256 * 1024;

/** The harness of a spec without `executor`: the model-free echo agent. */
const DEFAULT_HARNESS = 'echo';
/**
 * The harness of an `executor` that names neither `harness` nor `type`: our model harness (any
 * OpenAI-compatible endpoint). Upstream would pick its own default harness, which no runner of
 * ours has; a block that configures a model wants that model called.
 */
const DEFAULT_EXECUTOR_HARNESS = 'openai';
/** Upstream's harness aliases, stored under the canonical id. */
const HARNESS_ALIASES: Record<string, string> = { agy: 'antigravity' };
const DEFAULT_MAX_ITERATIONS = 20;
// Terminal names travel in request bodies; they must start with a letter or `_` because JS objects
// put integer-like keys first, which would break "keep spec order".
const TERMINAL_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const HANDLER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const PROMPT_POLICY_HANDLER = 'omnigent.policies.builtins.prompt.prompt_policy';
const MAX_INSTRUCTIONS_PATH_LENGTH = 1024;
// One line, no blanks, a file extension: `instructions` names a bundle file, not inline text.
const INSTRUCTIONS_FILE_PATTERN = /^[^\s\0]+\.[A-Za-z0-9]{1,10}$/;

// The parsed pieces are the wire types runners receive (src/protocol/agent-spec.ts). The old
// names stay: the policies, terminals and files modules import them.
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
  /** Guardrails-level labels (`labels:` or `guardrails.labels`). */
  labels?: Record<string, AgentLabelWire>;
  /** Guardrails-level `ask_timeout`: seconds an ASK waits unless its policy sets its own. */
  askTimeoutS?: number;
  /** Spec order is kept: it is the order `GET /v1/agents` reports. */
  terminals: Record<string, AgentTerminalSpec>;
  params: Record<string, unknown>;
  maxIterations: number;
  async: boolean;
  cancellable: boolean;
  timers: boolean;
  /** The whole parsed YAML, unknown keys included. */
  raw: Record<string, unknown>;
}

export interface ParseAgentSpecOptions {
  /** Returns a bundle file's text, or undefined when there is no such file. */
  readBundleFile?: (relPath: string) => string | undefined;
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

/**
 * `instructions` is inline text, or (one line with a file extension) a file of the bundle: a
 * missing file is an error naming it.
 */
function resolveInstructions(
  instructions: string | undefined,
  prompt: string | undefined,
  field: string,
  options: ParseAgentSpecOptions,
): string | null {
  if (instructions === undefined) {
    return prompt ?? null;
  }
  const candidate = instructions.trim();
  if (
    !options.readBundleFile ||
    candidate.length > MAX_INSTRUCTIONS_PATH_LENGTH ||
    !INSTRUCTIONS_FILE_PATTERN.test(candidate) ||
    !isRelativeInsidePath(candidate)
  ) {
    return instructions;
  }
  const fileText = options.readBundleFile(candidate);
  if (fileText === undefined) {
    throw new AgentSpecError(`${field}: the file ${candidate} is not in the bundle`);
  }
  return fileText;
}

function toExecutor(dto: AgentExecutorDto | undefined): AgentExecutorSpec {
  if (!dto) {
    return { harness: DEFAULT_HARNESS };
  }
  // Upstream makes `harness` optional and falls back to the executor's `type`.
  const named = dto.harness || dto.type || DEFAULT_EXECUTOR_HARNESS;
  const result: AgentExecutorSpec = { harness: HARNESS_ALIASES[named] ?? named };
  if (dto.model !== undefined && dto.model !== null) {
    result.model = dto.model;
  }
  if (dto.auth !== undefined && dto.auth !== null) {
    result.auth = { ...dto.auth };
  }
  return result;
}

function toOsEnv(dto: AgentOsEnvDto | undefined): AgentOsEnvSpec | null {
  if (!dto) {
    return null;
  }
  const result: AgentOsEnvSpec = { type: 'caller_process' };
  if (dto.cwd !== undefined && dto.cwd !== null) {
    result.cwd = dto.cwd;
  }
  if (dto.sandbox !== undefined) {
    // The runner enforces these; upstream's other keys (egress_rules, credential_proxy) stay in raw.
    const sandbox = dto.sandbox ?? {};
    result.sandbox = {
      type: (sandbox.type ?? null) as SandboxType | null,
      ...pick(sandbox, ['allow_network', 'write_paths']),
    };
  }
  return result;
}

function parsePolicy(name: string, value: unknown, field: string): AgentPolicySpec {
  if (name.length === 0) {
    throw new AgentSpecError(`${field}.name must not be empty`);
  }
  if (isMapping(value) && value.type === 'prompt') {
    throw new AgentSpecError(
      `${field}.type prompt is not supported; use handler ${PROMPT_POLICY_HANDLER}`,
    );
  }
  // `handler: {path, arguments}` is the `function:` form under the other key.
  const entry =
    isMapping(value) && isMapping(value.handler)
      ? { ...value, handler: undefined, function: value.handler }
      : value;
  const dto = validated(PolicyEntryDto, entry, field);
  let handler = dto.handler;
  let factoryParams = dto.factory_params;
  if (typeof dto.function === 'string') {
    handler = dto.function;
  } else if (dto.function) {
    handler = dto.function.path;
    factoryParams = factoryParams ?? dto.function.arguments;
  }
  if (handler === undefined || !HANDLER_PATTERN.test(handler)) {
    throw new AgentSpecError(`${field}.function must be a dotted handler id`);
  }
  return {
    name,
    handler,
    ...(factoryParams !== undefined && { factory_params: factoryParams as Mapping }),
    ...(dto.on !== undefined && { on: dto.on }),
    ...(dto.description !== undefined && { description: dto.description }),
    ...(dto.ask_timeout !== undefined &&
      dto.ask_timeout !== null && { ask_timeout: dto.ask_timeout }),
    ...optional('condition', parseCondition((value as Mapping).condition, `${field}.condition`)),
    ...optional('set_labels', parseSetLabels((value as Mapping).set_labels, `${field}.set_labels`)),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** The guardrails block: top-level `policies`/`labels`/`ask_timeout`, or the same keys under `guardrails:`. */
function guardrailsKey(raw: Mapping, key: 'policies' | 'labels' | 'ask_timeout'): unknown {
  if (raw[key] !== undefined && raw[key] !== null) {
    return raw[key];
  }
  return isMapping(raw.guardrails) ? raw.guardrails[key] : undefined;
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
      if (typeof entry.name !== 'string') {
        throw new AgentSpecError(`${field}.name is required`);
      }
      const { name, ...rest } = entry;
      return parsePolicy(name, rest, field);
    });
  } else if (isMapping(value)) {
    policies = Object.entries(value).map(([name, entry]) =>
      parsePolicy(name, entry, `policies.${name}`),
    );
  } else {
    throw new AgentSpecError('policies must be a list or a mapping');
  }
  assertUniqueNames(policies, 'policies', 'name');
  return policies;
}

function parseTerminals(value: unknown): Record<string, AgentTerminalSpec> {
  if (value === undefined || value === null) {
    return {};
  }
  if (!isMapping(value)) {
    throw new AgentSpecError('terminals must be a mapping');
  }
  const result: Record<string, AgentTerminalSpec> = {};
  for (const [name, entry] of Object.entries(value)) {
    const field = `terminals.${name.slice(0, 64)}`;
    if (!TERMINAL_NAME_PATTERN.test(name)) {
      throw new AgentSpecError(
        `${field} must be named with letters, digits, "_", "-" or "." and start with a letter or "_"`,
      );
    }
    const dto = validated(TerminalEntryDto, entry ?? {}, field);
    for (const [key, envValue] of Object.entries(dto.env ?? {})) {
      if (typeof envValue !== 'string') {
        throw new AgentSpecError(`${field}.env.${key} must be a string`);
      }
    }
    result[name] = pick(dto, [
      'command',
      'args',
      'cwd',
      'env',
      'os_env',
      'allow_cwd_override',
      'allow_sandbox_override',
      'scrollback',
      'sandbox',
    ]) as AgentTerminalSpec;
  }
  return result;
}

function nonEmpty<T extends object>(value: T): T | undefined {
  return Object.keys(value).length > 0 ? value : undefined;
}

/**
 * Parses and validates one agent spec (`config.yaml` or a file of `agents/`) against the DTOs of
 * `dto/agent-spec*.dto.ts`. Throws AgentSpecError naming the field on the first problem.
 */
export function parseAgentSpec(text: string, options: ParseAgentSpecOptions = {}): AgentSpec {
  const raw = parseYamlObject(text);
  if (raw.name === undefined || raw.name === null) {
    throw new AgentSpecError('name is required');
  }
  const dto = validated(AgentSpecDto, raw, '');
  const osEnv = toOsEnv(dto.os_env);
  const executor = toExecutor(dto.executor);
  const instructions = resolveInstructions(dto.instructions, dto.prompt, 'instructions', options);
  return {
    name: dto.name,
    description: dto.description ?? null,
    instructions,
    executor,
    osEnv,
    tools: parseTools(raw.tools, osEnv, {
      executor,
      selfInstructions: instructions,
      toExecutor,
      toOsEnv,
      instructions: (text, prompt, field) => resolveInstructions(text, prompt, field, options),
    }),
    policies: parsePolicies(guardrailsKey(raw, 'policies')),
    ...optional('labels', nonEmpty(parseLabelDecls(guardrailsKey(raw, 'labels')))),
    ...optional('askTimeoutS', parseAskTimeout(guardrailsKey(raw, 'ask_timeout'))),
    terminals: parseTerminals(raw.terminals),
    params: (dto.params as Mapping | undefined) ?? {},
    maxIterations: dto.max_iterations ?? DEFAULT_MAX_ITERATIONS,
    async: dto.async ?? true,
    cancellable: dto.cancellable ?? true,
    timers: dto.timers ?? false,
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
    ...optional('labels', spec.labels),
    ...optional('ask_timeout', spec.askTimeoutS),
    terminals: spec.terminals,
    params: spec.params,
    max_iterations: spec.maxIterations,
    async: spec.async,
    cancellable: spec.cancellable,
    timers: spec.timers,
  });
}
