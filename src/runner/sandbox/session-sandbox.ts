import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import { AgentSandboxWire } from 'src/protocol/agent-spec';
import { resolveSandbox } from 'src/runner/sandbox/sandbox-policy';
import { SandboxSupport } from 'src/runner/sandbox/sandbox-probe';
import { BwrapTools, ToolSandbox, UnsandboxedTools } from 'src/runner/sandbox/tool-sandbox';
import { realPathOf, refusalFor, WorkspaceRules } from 'src/runner/sandbox/workspace-guard';

/** The runner's tool settings (`omnigent runner` flags and environment). */
export interface ToolSettings {
  /** Where per-session workspaces are created (`<root>/<session id>`) unless a session names one. */
  workspaceRoot: string;
  /** The runner's environment (only locale settings reach sandboxed tools). */
  env: Record<string, string | undefined>;
  support: SandboxSupport;
  /** --require-sandbox: never run tools bare, `sandbox: none` included. */
  required: boolean;
  /** Never shown to tools nor usable as a workspace (the local runner: the server's data dir). */
  protectedPaths: string[];
}

export interface SessionTools {
  sessionId: string;
  /** The session's own absolute workspace, if it names one. */
  workspace: string | null;
  sandbox: AgentSandboxWire | null | undefined;
}

/**
 * The session's workspace (its own absolute `workspace`, else `<root>/<session id>`), created if
 * missing. Refused, at tool time, when it is or contains a system directory, the root itself or a
 * protected path (workspace-guard.ts).
 */
function workspaceOf(
  settings: ToolSettings,
  session: SessionTools,
  rules: WorkspaceRules,
): { path: string } | { error: string } {
  const requested = session.workspace;
  const dir =
    requested && isAbsolute(requested)
      ? requested
      : join(settings.workspaceRoot, session.sessionId);
  const planned = realPathOf(dir);
  const refusal = refusalFor(planned, rules, 'the session workspace');
  if (refusal) {
    return { error: refusal };
  }
  try {
    mkdirSync(planned, { recursive: true });
    const real = realpathSync(planned);
    const late = real === planned ? null : refusalFor(real, rules, 'the session workspace');
    return late ? { error: late } : { path: real };
  } catch (error) {
    return { error: `the session workspace cannot be created: ${(error as Error).message}` };
  }
}

/** Where one session's tools run, per its `os_env.sandbox` and the runner's settings. */
export function placeTools(
  settings: ToolSettings,
  session: SessionTools,
): { workspace: string; sandbox: ToolSandbox } | { error: string } {
  const decision = resolveSandbox(session.sandbox, settings.support, settings.required);
  if (decision.kind === 'unavailable') {
    return { error: decision.reason };
  }
  const rules = { root: settings.workspaceRoot, protectedPaths: settings.protectedPaths };
  const workspace = workspaceOf(settings, session, rules);
  if ('error' in workspace) {
    return workspace;
  }
  if (decision.kind === 'none') {
    return {
      workspace: workspace.path,
      sandbox: new UnsandboxedTools(workspace.path, settings.env),
    };
  }
  const writePaths: string[] = [];
  for (const entry of decision.writePaths) {
    const real = realPathOf(resolve(workspace.path, entry));
    // Inside the workspace it is writable already; a missing path is skipped (like --bind-try).
    if (real.startsWith(`${workspace.path}/`) || !existsSync(real)) {
      continue;
    }
    const refusal = refusalFor(real, rules, 'the os_env.sandbox.write_paths entry');
    if (refusal) {
      return { error: refusal };
    }
    writePaths.push(real);
  }
  return {
    workspace: workspace.path,
    sandbox: new BwrapTools({
      support: settings.support,
      workspace: workspace.path,
      writePaths,
      hidePaths: settings.protectedPaths.map(realPathOf),
      allowNetwork: decision.allowNetwork,
      env: settings.env,
    }),
  };
}
