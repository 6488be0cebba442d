import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';

import {
  FsEntry,
  FsListParams,
  FsListResult,
  FsStatResult,
  HostErrorCode,
  WorktreeEntry,
} from 'src/protocol/host-protocol';
import { RpcError } from 'src/protocol/json-rpc';

const execFileAsync = promisify(execFile);

/** JSON-RPC error code for host-reported filesystem failures; `data.code` says which. */
export const HOST_FS_ERROR = 1200;
const MAX_LIST_LIMIT = 1000;

export function hostError(code: HostErrorCode | string, message: string): RpcError {
  return new RpcError(HOST_FS_ERROR, message, { code });
}

/**
 * The host's filesystem as the server may see it: paths are absolute or `~`-prefixed (`~` is the
 * daemon user's home), normalised, and must resolve (symlinks followed) inside one of the roots
 * the daemon serves (default: the home directory). Everything else is `path_unreachable`.
 */
export class HostFs {
  private readonly roots: Promise<string[]>;

  constructor(
    private readonly home: string,
    roots: string[],
    /** PATH for `git`. */
    private readonly pathEnv: string,
  ) {
    this.roots = Promise.all(roots.map((root) => realpath(root).catch(() => resolve(root))));
  }

  /** Expands `~`, normalises `..`, follows symlinks, and checks the result is inside a root. */
  async resolvePath(input: string): Promise<string> {
    if (typeof input !== 'string' || input.length === 0 || input.includes('\0')) {
      throw hostError(HostErrorCode.InvalidPath, 'path must be a non-empty string without NUL');
    }
    let expanded: string;
    if (input === '~' || input.startsWith('~/')) {
      expanded = join(this.home, input.slice(1));
    } else if (isAbsolute(input)) {
      expanded = input;
    } else {
      throw hostError(HostErrorCode.InvalidPath, 'path must be absolute or tilde-prefixed');
    }
    const normalised = resolve(expanded);
    const real = await realExisting(normalised);
    const roots = await this.roots;
    if (
      !roots.some(
        (root) => real === root || real.startsWith(root.endsWith(sep) ? root : root + sep),
      )
    ) {
      throw hostError(
        HostErrorCode.PathUnreachable,
        `${input} is outside the directories this host serves (${roots.join(', ')})`,
      );
    }
    return real;
  }

  async stat(input: string): Promise<FsStatResult> {
    const path = await this.resolvePath(input);
    try {
      const info = await stat(path);
      return { exists: true, type: typeOf(info), canonical_path: path };
    } catch {
      return { exists: false };
    }
  }

  async list(params: FsListParams): Promise<FsListResult> {
    const path = await this.resolvePath(params.path);
    const limit = Math.min(Math.max(1, Math.floor(Number(params.limit) || 20)), MAX_LIST_LIMIT);
    let names: string[];
    try {
      names = (await readdir(path)).sort();
    } catch (error) {
      throw fsError(error, params.path);
    }
    const afterName = params.after ? cursorName(params.after) : undefined;
    const beforeName = params.before ? cursorName(params.before) : undefined;
    let window = names;
    if (afterName !== undefined) {
      window = window.filter((name) => name > afterName);
    }
    if (beforeName !== undefined) {
      window = window.filter((name) => name < beforeName);
      window = window.slice(Math.max(0, window.length - limit - 1));
    }
    const hasMore = window.length > limit;
    const page = beforeName !== undefined ? window.slice(-limit) : window.slice(0, limit);
    const entries = await Promise.all(page.map((name) => entry(path, name)));
    return { path, entries, has_more: hasMore };
  }

  async mkdir(input: string): Promise<{ path: string }> {
    const path = await this.resolvePath(input);
    try {
      const existing = await stat(path).catch(() => null);
      if (existing) {
        throw hostError(HostErrorCode.AlreadyExists, `${input} already exists`);
      }
      await mkdir(path, { recursive: true });
    } catch (error) {
      throw error instanceof RpcError ? error : fsError(error, input);
    }
    return { path };
  }

  /** `git worktree list --porcelain` of the repository containing `input`, main first. */
  async worktrees(input: string): Promise<{ worktrees: WorktreeEntry[] }> {
    const path = await this.resolvePath(input);
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync('git', ['-C', path, 'worktree', 'list', '--porcelain'], {
        timeout: 5_000,
        maxBuffer: 4 * 1024 * 1024,
        env: { PATH: this.pathEnv, GIT_TERMINAL_PROMPT: '0' },
      }));
    } catch {
      throw hostError(HostErrorCode.NotAGitRepo, `${input} is not a git repository`);
    }
    const worktrees: WorktreeEntry[] = [];
    for (const block of stdout.split('\n\n')) {
      const lines = block.split('\n').filter(Boolean);
      const worktree = lines.find((l) => l.startsWith('worktree '));
      if (!worktree) {
        continue;
      }
      const branch = lines.find((l) => l.startsWith('branch '));
      worktrees.push({
        path: worktree.slice('worktree '.length),
        branch: branch ? branch.slice('branch '.length).replace(/^refs\/heads\//, '') : null,
        is_main: worktrees.length === 0,
        detached: lines.includes('detached'),
      });
    }
    return { worktrees };
  }
}

/** The real path of `path`, or of its deepest existing ancestor joined with the rest. */
async function realExisting(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    if (parent === path) {
      return path;
    }
    return join(
      await realExisting(parent),
      path.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)),
    );
  }
}

function cursorName(cursor: string): string {
  const trimmed = cursor.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

function typeOf(info: { isDirectory(): boolean; isFile(): boolean }): FsEntry['type'] {
  return info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other';
}

async function entry(dir: string, name: string): Promise<FsEntry> {
  const path = join(dir, name);
  try {
    const info = await lstat(path);
    const target = info.isSymbolicLink() ? await stat(path).catch(() => null) : info;
    return {
      name,
      path,
      type: target ? typeOf(target) : 'other',
      bytes: target?.isFile() ? target.size : null,
      modified_at: Math.floor(info.mtimeMs / 1000),
    };
  } catch {
    return { name, path, type: 'other', bytes: null, modified_at: null };
  }
}

function fsError(error: unknown, path: string): RpcError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return hostError(HostErrorCode.NotFound, `${path} does not exist or is not a directory`);
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return hostError(HostErrorCode.PermissionDenied, `permission denied: ${path}`);
  }
  return hostError(HostErrorCode.IoError, `${path}: ${(error as Error).message}`);
}
