import { sandboxSupport } from 'src/runner/sandbox/sandbox-probe';
import { BwrapTools, ToolSandbox, UnsandboxedTools } from 'src/runner/sandbox/tool-sandbox';

export type SandboxFactory = (workspace: string) => ToolSandbox;

/** bubblewrap for one workspace; fails loudly where it does not work (CI installs it). */
export function bwrapFor(
  workspace: string,
  options: { allowNetwork?: boolean; writePaths?: string[]; hidePaths?: string[] } = {},
): ToolSandbox {
  const support = sandboxSupport(process.env.PATH);
  if (!support.available) {
    throw new Error(`these tests need a working bubblewrap: ${support.reason}`);
  }
  return new BwrapTools({
    support,
    workspace,
    writePaths: options.writePaths ?? [],
    hidePaths: options.hidePaths ?? [],
    allowNetwork: options.allowNetwork ?? true,
    env: process.env,
  });
}

/** The file tools behave the same with and without the sandbox: their specs run under both. */
export const TOOL_SANDBOXES: [string, SandboxFactory][] = [
  ['unsandboxed', (workspace) => new UnsandboxedTools(workspace, process.env)],
  ['bubblewrap', (workspace) => bwrapFor(workspace)],
];
