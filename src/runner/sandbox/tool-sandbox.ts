import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { bwrapArgs } from 'src/runner/sandbox/bwrap-args';
import { SandboxSupport } from 'src/runner/sandbox/sandbox-probe';
import { LocalToolFs, SandboxedToolFs, ToolFs } from 'src/runner/sandbox/tool-fs';
import { sandboxEnvironment, toolEnvironment } from 'src/runner/sandbox/tool-env';

/** Where the fs worker script appears inside the sandbox. */
const WORKER_TARGET = '/.omnigent/fs-worker.js';
const WORKER_SOURCE = path.join(__dirname, 'fs-worker.js');

export interface SpawnOptions {
  /** setsid: one kill(-pid) reaches the command and everything it started. */
  detached: boolean;
  stdin: 'pipe' | 'ignore';
}

/** The tool sandbox could not be set up for this call; the message is model-facing. */
export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}

/** What a PTY must exec to run a command in the sandbox (src/runner/terminals/). */
export interface PtyLaunch {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** Where a tool's OS work happens: inside bubblewrap, or directly in the runner's process. */
export interface ToolSandbox {
  readonly kind: 'bwrap' | 'none';
  /** Starts `argv` confined to the workspace (its working directory). */
  spawn(argv: string[], options: SpawnOptions): ChildProcess;
  /**
   * How to exec `argv` under a PTY with the same confinement as `spawn`, in `cwd` (a real path
   * inside the workspace), with `extraEnv` added to the tools' environment.
   */
  ptyLaunch(argv: string[], cwd: string, extraEnv: Record<string, string>): PtyLaunch;
  /** Filesystem calls for one tool call, confined like `spawn`; close() when done. */
  openFs(signal: AbortSignal): ToolFs;
}

/** No sandbox: the runner's own filesystem view; commands get the scrubbed environment. */
export class UnsandboxedTools implements ToolSandbox {
  readonly kind = 'none';

  constructor(
    private readonly workspace: string,
    private readonly env: Record<string, string | undefined>,
  ) {}

  spawn(argv: string[], options: SpawnOptions): ChildProcess {
    return spawn(argv[0], argv.slice(1), {
      cwd: this.workspace,
      env: toolEnvironment(this.env),
      detached: options.detached,
      stdio: [options.stdin, 'pipe', 'pipe'],
    });
  }

  ptyLaunch(argv: string[], cwd: string, extraEnv: Record<string, string>): PtyLaunch {
    return {
      file: argv[0],
      args: argv.slice(1),
      cwd,
      env: { ...toolEnvironment(this.env), ...extraEnv },
    };
  }

  openFs(): ToolFs {
    return new LocalToolFs();
  }
}

export interface BwrapToolsOptions {
  support: SandboxSupport;
  /** Real path of the session workspace (already checked by workspace-guard.ts). */
  workspace: string;
  /** Real paths of extra writable directories (checked too). */
  writePaths: string[];
  /** Real paths to mask if a system bind would show them (the server's data directory). */
  hidePaths: string[];
  allowNetwork: boolean;
  /** The runner's environment: only locale settings are carried into the sandbox. */
  env: Record<string, string | undefined>;
}

/**
 * Opens `dir` and checks that the opened directory is that very path. bwrap then binds the open
 * descriptor (`--bind-fd`), so a symlink swapped into the path after our checks cannot redirect
 * the bind somewhere else.
 */
function openVerifiedDir(dir: string): number {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (error) {
    throw new SandboxError(`cannot open '${dir}': ${(error as Error).message}`);
  }
  let opened: string;
  try {
    opened = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    opened = '';
  }
  if (opened !== dir) {
    fs.closeSync(fd);
    throw new SandboxError(`'${dir}' changed while the sandbox was being set up`);
  }
  return fd;
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** bubblewrap (spec/stack.md §9): read-only system, the workspace writable, nothing else. */
export class BwrapTools implements ToolSandbox {
  readonly kind = 'bwrap';
  private readonly node: string;
  private readonly extraFiles: { source: string; target: string }[];
  private readonly hidden: { path: string; kind: 'dir' | 'file' }[];

  constructor(private readonly options: BwrapToolsOptions) {
    this.node = fs.realpathSync(process.execPath);
    this.hidden = options.hidePaths.flatMap((hidden) => {
      try {
        return [
          { path: hidden, kind: fs.statSync(hidden).isDirectory() ? 'dir' : 'file' },
        ] as const;
      } catch {
        return [];
      }
    });
    const boundDirs = options.support.layout.flatMap((e) => (e.kind === 'dir' ? [e.path] : []));
    this.extraFiles = [{ source: WORKER_SOURCE, target: WORKER_TARGET }];
    if (!boundDirs.some((dir) => isInside(dir, this.node))) {
      // A node outside the system directories (nvm, a tarball): carry just its binary in.
      this.extraFiles.push({ source: this.node, target: this.node });
    }
  }

  spawn(argv: string[], options: SpawnOptions): ChildProcess {
    const { support, workspace } = this.options;
    const fds: number[] = [];
    try {
      fds.push(openVerifiedDir(workspace));
      const writePaths = this.options.writePaths.map((dir) => {
        fds.push(openVerifiedDir(dir));
        return { path: dir, fd: 3 + fds.length - 1 };
      });
      const args = bwrapArgs({
        layout: support.layout,
        workspace,
        workspaceFd: 3,
        writePaths,
        hidePaths: this.hidden,
        readOnlyFiles: this.extraFiles,
        allowNetwork: this.options.allowNetwork,
        env: sandboxEnvironment(workspace, this.options.env),
      });
      return spawn(support.bwrapPath as string, [...args, ...argv], {
        cwd: '/',
        env: { PATH: '/usr/bin:/bin' },
        detached: options.detached,
        stdio: [options.stdin, 'pipe', 'pipe', ...fds],
      });
    } finally {
      // The child holds its own copies now.
      for (const fd of fds) {
        fs.closeSync(fd);
      }
    }
  }

  ptyLaunch(argv: string[], cwd: string, extraEnv: Record<string, string>): PtyLaunch {
    const { support, workspace } = this.options;
    const args = bwrapArgs({
      layout: support.layout,
      workspace,
      workspaceFd: null,
      writePaths: this.options.writePaths.map((dir) => ({ path: dir, fd: null })),
      hidePaths: this.hidden,
      readOnlyFiles: this.extraFiles,
      allowNetwork: this.options.allowNetwork,
      env: { ...sandboxEnvironment(workspace, this.options.env), ...extraEnv },
      interactive: true,
      chdir: cwd,
    });
    return {
      file: support.bwrapPath as string,
      args: [...args, ...argv],
      cwd: '/',
      env: { PATH: '/usr/bin:/bin' },
    };
  }

  openFs(signal: AbortSignal): ToolFs {
    return new SandboxedToolFs(
      () => this.spawn([this.node, WORKER_TARGET], { detached: true, stdin: 'pipe' }),
      signal,
    );
  }
}
