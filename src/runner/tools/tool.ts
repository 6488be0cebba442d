import { ToolFs } from 'src/runner/sandbox/tool-fs';
import { ToolSandbox } from 'src/runner/sandbox/tool-sandbox';
import { resolveForTool } from 'src/runner/tools/workspace-path';

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

/**
 * Runs `work` on the workspace path a tool was asked for, through the sandbox's filesystem
 * (closed afterwards). A path that leaves the workspace is answered with the model-facing error.
 */
export async function withToolPath<T>(
  context: ToolContext,
  requested: string,
  work: (toolFs: ToolFs, resolved: string) => Promise<T>,
): Promise<T | string> {
  const resolved = resolveForTool(context.workspace, requested);
  if ('error' in resolved) {
    return resolved.error;
  }
  const toolFs = context.sandbox.openFs(context.signal);
  try {
    return await work(toolFs, resolved.path);
  } finally {
    toolFs.close();
  }
}
