import * as fs from 'node:fs';
import * as path from 'node:path';

/** A requested path that is malformed or would leave the workspace; the message is model-facing. */
export class WorkspacePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspacePathError';
  }
}

// Bounds symlink chains the way the kernel does (ELOOP), so a link cycle cannot spin forever.
const MAX_LINK_HOPS = 40;

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return (
    relative === '' ||
    (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
  );
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Follows every symlink of `target`, including a final link whose destination does not exist yet
 * (writing through it would create the file wherever it points). Missing trailing segments are
 * appended to the real path of the deepest existing ancestor.
 */
function realTarget(target: string, hops: number): string {
  const missing: string[] = [];
  let current = target;
  for (;;) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(current);
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new WorkspacePathError(`Cannot access '${current}' (${code ?? 'unknown error'})`);
      }
    }
    if (stat) {
      if (stat.isSymbolicLink()) {
        if (hops >= MAX_LINK_HOPS) {
          throw new WorkspacePathError('Too many levels of symbolic links');
        }
        // Resolve the link's parent first so a relative link target is read from its real location.
        const parent = realTarget(path.dirname(current), hops + 1);
        const linked = path.resolve(parent, fs.readlinkSync(current));
        return path.join(realTarget(linked, hops + 1), ...missing);
      }
      return path.join(fs.realpathSync(current), ...missing);
    }
    const parent = path.dirname(current);
    if (parent === current) {
      return path.join(current, ...missing);
    }
    missing.unshift(path.basename(current));
    current = parent;
  }
}

/**
 * Resolves a path a tool received against the session workspace. The result is absolute, has every
 * existing symlink resolved, and is guaranteed to lie inside the workspace (or be the workspace);
 * anything else throws a `WorkspacePathError` whose message can be shown to the model.
 */
export function resolveInWorkspace(workspace: string, requested: string): string {
  if (typeof requested !== 'string') {
    throw new WorkspacePathError('Path must be a string');
  }
  if (requested.includes('\0')) {
    throw new WorkspacePathError('Path must not contain NUL bytes');
  }
  let root: string;
  try {
    root = fs.realpathSync(workspace);
  } catch {
    throw new WorkspacePathError(`The workspace '${workspace}' does not exist`);
  }
  const lexical = path.resolve(root, requested === '' ? '.' : requested);
  // Absolute paths are checked against both spellings: the caller may know the workspace by a
  // symlinked name (e.g. /tmp on macOS) while `root` is its real path.
  const lexicalRoot = path.isAbsolute(requested) && isInside(workspace, lexical) ? workspace : root;
  if (!isInside(lexicalRoot, lexical)) {
    throw new WorkspacePathError(`Path '${requested}' is outside the workspace`);
  }
  const real = realTarget(lexical, 0);
  if (!isInside(root, real)) {
    throw new WorkspacePathError(
      `Path '${requested}' resolves outside the workspace through a symbolic link`,
    );
  }
  return real;
}

const FS_ERROR_TEXT: Record<string, (displayPath: string) => string> = {
  EACCES: (p) => `Permission denied: '${p}'`,
  EEXIST: (p) => `'${p}' already exists`,
  EISDIR: (p) => `'${p}' is a directory`,
  ENOENT: (p) => `'${p}' does not exist`,
  ENOTDIR: (p) => `A parent of '${p}' is not a directory`,
  EPERM: (p) => `Permission denied: '${p}'`,
};

/** Model-facing text for a filesystem error on `displayPath` (the path as the model wrote it). */
/**
 * resolveInWorkspace for tools: the path, or the `Error: …` text to hand the model when the path
 * is refused (anything else still throws).
 */
export function resolveForTool(
  workspace: string,
  requested: string,
): { path: string } | { error: string } {
  try {
    return { path: resolveInWorkspace(workspace, requested) };
  } catch (error) {
    if (error instanceof WorkspacePathError) {
      return { error: `Error: ${error.message}` };
    }
    throw error;
  }
}

export function describeFsError(error: unknown, displayPath: string): string {
  const describe = FS_ERROR_TEXT[errorCode(error) ?? ''];
  if (describe) {
    return describe(displayPath);
  }
  return `Cannot access '${displayPath}': ${error instanceof Error ? error.message : String(error)}`;
}
