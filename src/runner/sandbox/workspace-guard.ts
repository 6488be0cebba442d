import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Directories no session workspace or write path may be, lie in or contain: the system (which
 * the sandbox shows read-only, or which holds other processes' state) and `/` itself.
 */
export const SYSTEM_DIRS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var',
];

export interface WorkspaceRules {
  /** The runner's workspace root (`<root>/<session id>` is a session's default workspace). */
  root: string;
  /** Paths tools must never see, e.g. the server's data directory for the local runner. */
  protectedPaths: string[];
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** The real path of `target` with missing trailing segments appended (nothing is created). */
export function realPathOf(target: string): string {
  const missing: string[] = [];
  let current = path.resolve(target);
  for (;;) {
    try {
      return path.join(fs.realpathSync(current), ...missing);
    } catch {
      const parent = path.dirname(current);
      if (parent === current) {
        return path.join(current, ...missing);
      }
      missing.unshift(path.basename(current));
      current = parent;
    }
  }
}

/**
 * Why `dir` (absolute, real) may not be given to tools read-write, or null when it may. `what`
 * names it in the message ("the session workspace", "write_paths entry").
 */
export function refusalFor(dir: string, rules: WorkspaceRules, what: string): string | null {
  const quoted = `${what} '${dir}'`;
  if (dir === '/') {
    return `${quoted} is the root directory`;
  }
  const system = SYSTEM_DIRS.find((sys) => isInside(sys, dir) || isInside(realPathOf(sys), dir));
  if (system) {
    return `${quoted} is inside the system directory ${system}`;
  }
  const root = realPathOf(rules.root);
  if (dir === root) {
    return `${quoted} is the runner's workspace root, which holds every session's workspace`;
  }
  if (isInside(root, dir)) {
    // Below the root is where workspaces belong, even when the root itself is protected (the
    // local runner's root lies inside the server's data directory).
    return null;
  }
  for (const protectedPath of rules.protectedPaths.map(realPathOf)) {
    if (isInside(protectedPath, dir) || isInside(dir, protectedPath)) {
      return `${quoted} would expose ${protectedPath}, which tools must not see`;
    }
  }
  return null;
}
