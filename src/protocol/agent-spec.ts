/**
 * The agent spec as runners receive it (`session.init` → `agent.spec`): what the registry emits
 * after parsing the YAML (src/modules/registry/agent-spec.ts) and what the runner reads. Keys are
 * the YAML's snake_case, defaults applied. Defined once here for the server and the runner.
 */

/** Built-in OS tools a runner implements; `tools: [...]` string entries must name one of these. */
export const BUILTIN_TOOL_NAMES = [
  'list_dir',
  'read_file',
  'write_file',
  'edit_file',
  'shell',
] as const;

export type BuiltinToolName = (typeof BUILTIN_TOOL_NAMES)[number];

export function isBuiltinToolName(name: string): name is BuiltinToolName {
  return (BUILTIN_TOOL_NAMES as readonly string[]).includes(name);
}

/**
 * `os_env.sandbox.type` values upstream knows. `auto` (or omitted/null) = the platform's sandbox
 * when it works; on Linux that is bubblewrap. The macOS and Windows types are accepted in specs but
 * are unavailable on our Linux runner.
 */
export const SANDBOX_TYPES = [
  'auto',
  'linux_bwrap',
  'darwin_seatbelt',
  'windows_jobobject',
  'none',
] as const;

export type SandboxType = (typeof SANDBOX_TYPES)[number];

export interface AgentSandboxWire {
  type: SandboxType | null;
  /** Default true; false runs tools without network (their own empty network namespace). */
  allow_network?: boolean;
  /** Extra absolute paths tools may write besides the workspace (bound read-write). */
  write_paths?: string[];
}

/**
 * `executor.auth` of any upstream type (`api_key`, `provider`, `databricks`, …): every key is
 * kept as uploaded. `${NAME}` references are kept verbatim: only the runner resolves them.
 */
export interface AgentAuthWire {
  type?: string;
  api_key?: string;
  base_url?: string;
  [key: string]: unknown;
}

export interface AgentExecutorWire {
  harness: string;
  model?: string;
  auth?: AgentAuthWire;
}

export interface AgentOsEnvWire {
  type: 'caller_process';
  /** Relative to the session workspace, or absolute. */
  cwd?: string;
  sandbox?: AgentSandboxWire;
}

export interface AgentServerToolWire {
  name: string;
  runtime: 'server';
}

export interface AgentClientToolWire {
  name: string;
  runtime: 'client';
  description?: string;
  parameters?: Record<string, unknown>;
}

/** `tools.<name>: {type: mcp, …}`: a stdio (`command`) or streamable-HTTP (`url`) MCP server. */
export interface AgentMcpToolWire {
  name: string;
  runtime: 'mcp';
  transport: 'stdio' | 'http';
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  url?: string;
  /** Values may hold `${NAME}` references, resolved on the runner. */
  headers?: Record<string, string>;
  /** Only these of the server's tools are offered; all when absent. */
  tools?: string[];
  description?: string;
}

/** `tools.<name>: {type: agent, …}`: a sub-agent run as a child turn. */
export interface AgentSubAgentToolWire {
  name: string;
  runtime: 'agent';
  description?: string;
  instructions: string | null;
  executor: AgentExecutorWire;
  /** `inherit` = the parent's os_env. */
  os_env: AgentOsEnvWire | 'inherit' | null;
  pass_history: boolean;
  /** Most child sessions this tool may create per parent session; null = no cap. */
  max_sessions: number | null;
}

/**
 * A tool the spec declares that this server's runners cannot run (a Python `callable`, a
 * container image, an `inherit` reference): it uploads, and calling it answers a
 * `tool_unavailable` error naming `reason`.
 */
export interface AgentUnavailableToolWire {
  name: string;
  runtime: 'unavailable';
  kind: 'callable' | 'container' | 'inherit';
  reason: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export type AgentToolWire =
  | AgentServerToolWire
  | AgentClientToolWire
  | AgentMcpToolWire
  | AgentSubAgentToolWire
  | AgentUnavailableToolWire;

export type AgentToolRuntime = AgentToolWire['runtime'];

export interface AgentPolicyWire {
  name: string;
  handler: string;
  /** Present (even `{}`) means the handler is a factory called with these kwargs. */
  factory_params?: Record<string, unknown>;
  /** Seconds an ASK of this policy waits before it counts as declined (default: the server's). */
  ask_timeout?: number;
  /** Phases upstream fires the policy on (`request`, `tool_call`, `tool_call:<tool>`, …). */
  on?: string[];
  description?: string;
  /** Label gate `{key: value | [values]}`: AND across keys, OR within a list. */
  condition?: Record<string, string | string[]>;
  /** The label keys this policy may write. */
  set_labels?: string[];
}

/** A guardrails-level label: seeded once per conversation with `initial`; `values` restricts writes. */
export interface AgentLabelWire {
  initial?: string;
  values?: string[];
}

export interface AgentTerminalWire {
  command?: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** `inherit` (the agent's) or an os_env mapping; kept as uploaded. */
  os_env?: 'inherit' | Record<string, unknown>;
  allow_cwd_override?: boolean;
  allow_sandbox_override?: boolean;
  scrollback?: number;
  sandbox?: Record<string, unknown>;
}

// A type alias, not an interface, so it stays assignable to the entity's Record<string, unknown>.
export type AgentSpecWire = {
  name: string;
  description: string | null;
  instructions: string | null;
  executor: AgentExecutorWire;
  os_env: AgentOsEnvWire | null;
  tools: AgentToolWire[];
  policies: AgentPolicyWire[];
  /** Guardrails-level label declarations (absent: none). */
  labels?: Record<string, AgentLabelWire>;
  /** Guardrails-level default seconds an ASK waits (absent: the server's). */
  ask_timeout?: number;
  terminals: Record<string, AgentTerminalWire>;
  params: Record<string, unknown>;
  max_iterations: number;
  /** Upstream's run flags (defaults true, true, false). */
  async?: boolean;
  cancellable?: boolean;
  timers?: boolean;
};
