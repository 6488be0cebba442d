import { ToolSandbox } from 'src/runner/sandbox/tool-sandbox';

/** A tool the agent can call. Built-ins run inside the runner, confined to the workspace. */
export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object (OpenAI function-tool `parameters`). */
  parameters: Record<string, unknown>;
}

export interface ToolContext {
  /** Absolute, real path of the session workspace; every path a tool touches stays inside it. */
  workspace: string;
  signal: AbortSignal;
  /** Live output (shell): becomes `response.function_call_output.delta` events. */
  onOutputDelta?(delta: string): void;
  /** Where processes and filesystem calls run: bubblewrap, or the runner itself. */
  sandbox: ToolSandbox;
}

export interface BuiltinTool extends ToolDefinition {
  /**
   * Runs the tool. Problems the model should see (bad path, missing file, non-zero exit) are
   * returned as output text, not thrown; throwing is for aborts only.
   */
  execute(args: Record<string, unknown>, context: ToolContext): Promise<string>;
}
