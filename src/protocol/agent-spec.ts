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

export interface AgentExecutorWire {
  harness: string;
  model?: string;
  /** `${NAME}` references are kept verbatim: only the runner resolves them. */
  auth?: { type?: string; api_key?: string; base_url?: string };
}

export interface AgentOsEnvWire {
  type: 'caller_process';
  /** Relative to the session workspace. */
  cwd?: string;
  sandbox?: AgentSandboxWire;
}

export type AgentToolWire =
  | { name: string; runtime: 'server' }
  | {
      name: string;
      runtime: 'client';
      description?: string;
      parameters?: Record<string, unknown>;
    };

export interface AgentPolicyWire {
  name: string;
  handler: string;
  /** Present (even `{}`) means the handler is a factory called with these kwargs. */
  factory_params?: Record<string, unknown>;
  /** Seconds an ASK of this policy waits before it counts as declined (default: the server's). */
  ask_timeout?: number;
}

export interface AgentTerminalWire {
  command?: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
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
  terminals: Record<string, AgentTerminalWire>;
  params: Record<string, unknown>;
  max_iterations: number;
};
