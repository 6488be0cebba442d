import { AgentSandboxWire } from 'src/protocol/agent-spec';
import { SandboxSupport } from 'src/runner/sandbox/sandbox-probe';

/** How one session's tools run. */
export type SandboxDecision =
  | { kind: 'bwrap'; allowNetwork: boolean; writePaths: string[] }
  | { kind: 'none' }
  /** The spec (or the runner) asks for a sandbox this host cannot give: tools are refused. */
  | { kind: 'unavailable'; reason: string };

/**
 * Resolves `os_env.sandbox` against what the host offers (agent-spec.md, upstream's semantics):
 * - `auto`, omitted or null: bubblewrap when it works, else no sandbox (the runner warned at
 *   start-up);
 * - `linux_bwrap`: bubblewrap or nothing;
 * - `none`: no sandbox, unless the runner requires one (`--require-sandbox`), which makes it
 *   bubblewrap;
 * - `darwin_seatbelt`, `windows_jobobject`: other platforms' sandboxes, unavailable here.
 * A required sandbox that does not work refuses the tools instead of running them bare.
 */
export function resolveSandbox(
  spec: AgentSandboxWire | null | undefined,
  support: SandboxSupport,
  requireSandbox: boolean,
): SandboxDecision {
  const type = spec?.type ?? 'auto';
  if (type === 'darwin_seatbelt' || type === 'windows_jobobject') {
    return {
      kind: 'unavailable',
      reason: `the agent asks for the ${type} sandbox, which this Linux runner does not have (use linux_bwrap or auto)`,
    };
  }
  if (type === 'none' && !requireSandbox) {
    return { kind: 'none' };
  }
  if (!support.available) {
    if (type === 'auto' && !requireSandbox) {
      return { kind: 'none' };
    }
    const why = requireSandbox
      ? 'this runner requires a sandbox for tools'
      : `the agent asks for the ${type} sandbox`;
    return {
      kind: 'unavailable',
      reason: `${why}, but none works here: ${support.reason ?? 'bubblewrap is unavailable'}`,
    };
  }
  const allowNetwork = spec?.allow_network ?? true;
  if (!allowNetwork && !support.network) {
    return {
      kind: 'unavailable',
      reason: `the agent turns the network off, but ${support.reason ?? 'network isolation does not work here'}`,
    };
  }
  return { kind: 'bwrap', allowNetwork, writePaths: spec?.write_paths ?? [] };
}

/** The runner's start-up line about its sandbox. */
export function describeSupport(support: SandboxSupport, requireSandbox: boolean): string {
  if (support.available) {
    const network = support.network
      ? ''
      : `; WARNING: ${support.reason} (agents with allow_network: false cannot run tools)`;
    return (
      `sandbox: ${support.version} (${support.bwrapPath}): tools run with a read-only system, ` +
      `only their workspace writable, their own PID namespace and a cleared environment` +
      `${requireSandbox ? ' (required)' : ''}${network}`
    );
  }
  return (
    `sandbox: UNAVAILABLE: ${support.reason}. ` +
    (requireSandbox
      ? 'This runner requires one (--require-sandbox) and will not start.'
      : 'WARNING: tools of agents with sandbox auto/none run UNSANDBOXED, with the runner ' +
        "user's access to this machine; agents that require linux_bwrap get a tool error.")
  );
}
