import * as path from 'node:path';

/** How one top-level system path looks on the host; the sandbox mirrors it read-only. */
export type HostEntry =
  | { kind: 'dir'; path: string }
  | { kind: 'symlink'; path: string; target: string }
  /** A file elsewhere that a bound path needs (e.g. /etc/resolv.conf → /run/…/resolv.conf). */
  | { kind: 'file'; path: string };

export interface BwrapPlan {
  /** Read-only view of the host's system directories (sandbox-probe.ts `hostLayout()`). */
  layout: HostEntry[];
  /** Real path of the session workspace: read-write, the working directory and HOME. */
  workspace: string;
  /**
   * fd (in the child) of the already opened workspace directory: `--bind-fd`, race-free. null
   * binds by path (a PTY child inherits no extra descriptors; the path was resolved just before).
   */
  workspaceFd: number | null;
  /** Extra read-write directories (`os_env.sandbox.write_paths`), each as an opened fd or not. */
  writePaths: { path: string; fd: number | null }[];
  /**
   * An interactive terminal: no `--new-session`, so the PTY stays the controlling terminal
   * (job control, ^C). The TIOCSTI risk it guards against is moot: the PTY is the command's own.
   */
  interactive?: boolean;
  /** Working directory inside the sandbox (default: the workspace). */
  chdir?: string;
  /**
   * Host paths a read-only bind would show but tools must not see: a directory is covered by an
   * empty tmpfs, a file by /dev/null.
   */
  hidePaths: { path: string; kind: 'dir' | 'file' }[];
  /** Single read-only files placed in the sandbox (the fs worker script, a node binary). */
  readOnlyFiles: { source: string; target: string }[];
  allowNetwork: boolean;
  /**
   * The whole environment of the sandboxed process. Never secrets: bwrap's own argv, which
   * carries these values, is readable inside the sandbox as /proc/1/cmdline.
   */
  env: Record<string, string>;
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * The bubblewrap arguments for one tool process (spec/stack.md §9), the command itself excluded.
 * Order matters: bwrap applies mounts in sequence, so the tmpfs masks come after the system
 * binds they cover, and the workspace comes last so it can live under /tmp or a masked path.
 */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const args = ['--die-with-parent'];
  if (!plan.interactive) {
    args.push('--new-session');
  }
  args.push('--unshare-pid', '--unshare-ipc');
  if (!plan.allowNetwork) {
    args.push('--unshare-net');
  }
  const bound: string[] = [];
  for (const entry of plan.layout) {
    switch (entry.kind) {
      case 'dir':
        args.push('--ro-bind', entry.path, entry.path);
        bound.push(entry.path);
        break;
      case 'symlink':
        args.push('--symlink', entry.target, entry.path);
        break;
      case 'file':
        args.push('--ro-bind', entry.path, entry.path);
        break;
    }
  }
  args.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
  for (const hidden of plan.hidePaths) {
    if (bound.some((dir) => isInside(dir, hidden.path))) {
      args.push(...(hidden.kind === 'dir' ? ['--tmpfs'] : ['--ro-bind', '/dev/null']), hidden.path);
    }
  }
  for (const file of plan.readOnlyFiles) {
    args.push('--ro-bind', file.source, file.target);
  }
  const bind = (fd: number | null, dir: string) =>
    fd === null ? args.push('--bind', dir, dir) : args.push('--bind-fd', String(fd), dir);
  bind(plan.workspaceFd, plan.workspace);
  for (const extra of plan.writePaths) {
    bind(extra.fd, extra.path);
  }
  args.push('--clearenv');
  for (const [name, value] of Object.entries(plan.env)) {
    args.push('--setenv', name, value);
  }
  args.push('--chdir', plan.chdir ?? plan.workspace, '--');
  return args;
}
