import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { bwrapArgs, HostEntry } from 'src/runner/sandbox/bwrap-args';

/** The system directories tools see read-only (those that exist on this host). */
export const READ_ONLY_SYSTEM_PATHS = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/etc',
];

const PROBE_TIMEOUT_MS = 10_000;

/** What this host offers for sandboxing tools, detected once at start-up. */
export interface SandboxSupport {
  /** bubblewrap works here with every option the tool sandbox uses. */
  available: boolean;
  bwrapPath: string | null;
  /** e.g. "bubblewrap 0.8.0" */
  version: string | null;
  /** `--unshare-net` works too (needed by `allow_network: false`). */
  network: boolean;
  /** Why it is not available (or why the network cannot be turned off), for the start-up line. */
  reason: string | null;
  layout: HostEntry[];
}

/** The host's system paths as the sandbox mirrors them: directories bound, symlinks recreated. */
export function hostLayout(): HostEntry[] {
  const entries: HostEntry[] = [];
  for (const dir of READ_ONLY_SYSTEM_PATHS) {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) {
      entries.push({ kind: 'symlink', path: dir, target: fs.readlinkSync(dir) });
    } else if (stat.isDirectory()) {
      entries.push({ kind: 'dir', path: dir });
    }
  }
  const bound = entries.filter((e) => e.kind === 'dir').map((e) => e.path);
  // systemd-resolved hosts point /etc/resolv.conf into /run; without its target DNS fails.
  try {
    const resolv = fs.realpathSync('/etc/resolv.conf');
    if (!bound.some((dir) => resolv.startsWith(`${dir}/`))) {
      entries.push({ kind: 'file', path: resolv });
    }
  } catch {
    // No resolv.conf: nothing to carry over.
  }
  return entries;
}

/** `bwrap` on the PATH, else its usual place; null when there is none. */
export function findBwrap(searchPath: string | undefined): string | null {
  const dirs = [...(searchPath ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'bwrap');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean) ?? ''
  );
}

/** Runs `true` in a sandbox built exactly like a tool's; null when it worked, else why not. */
function tryRun(bwrap: string, layout: HostEntry[], allowNetwork: boolean): string | null {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-sandbox-probe-'));
  const fd = fs.openSync(workspace, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const args = bwrapArgs({
      layout,
      workspace,
      workspaceFd: 3,
      writePaths: [],
      hidePaths: [],
      readOnlyFiles: [],
      allowNetwork,
      env: { PATH: '/usr/bin:/bin' },
    });
    const result = spawnSync(bwrap, [...args, 'true'], {
      stdio: ['ignore', 'pipe', 'pipe', fd],
      timeout: PROBE_TIMEOUT_MS,
      encoding: 'utf8',
    });
    if (result.error) {
      return result.error.message;
    }
    if (result.status !== 0) {
      return firstLine(result.stderr) || `bwrap exited with ${result.status ?? result.signal}`;
    }
    return null;
  } finally {
    fs.closeSync(fd);
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

const PRIVILEGE_HINT =
  'bubblewrap needs to create namespaces (root, or unprivileged user namespaces); inside a ' +
  'container that usually means a seccomp/AppArmor profile that allows them';

export interface ProbeOptions {
  /** PATH to look for `bwrap` in. */
  searchPath?: string;
  /** Use this binary instead of searching (null: there is none). */
  bwrap?: string | null;
}

/** Detects whether the tool sandbox works on this host (run it once, at start-up). */
export function probeSandbox(options: ProbeOptions = {}): SandboxSupport {
  const layout = hostLayout();
  const bwrap = options.bwrap !== undefined ? options.bwrap : findBwrap(options.searchPath);
  const none = { bwrapPath: bwrap, version: null, network: false, layout };
  if (process.platform !== 'linux') {
    return { ...none, available: false, reason: `bubblewrap is Linux-only (${process.platform})` };
  }
  if (!bwrap) {
    return {
      ...none,
      available: false,
      reason: 'bwrap was not found (install the bubblewrap package)',
    };
  }
  const version = spawnSync(bwrap, ['--version'], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS });
  const label = firstLine(version.stdout ?? '') || 'bubblewrap';
  const failure = tryRun(bwrap, layout, true);
  if (failure) {
    return {
      ...none,
      version: label,
      available: false,
      reason: `${bwrap} does not work here: ${failure} (${PRIVILEGE_HINT})`,
    };
  }
  const networkFailure = tryRun(bwrap, layout, false);
  return {
    available: true,
    bwrapPath: bwrap,
    version: label,
    network: networkFailure === null,
    reason: networkFailure ? `network isolation (--unshare-net) fails: ${networkFailure}` : null,
    layout,
  };
}

let cached: SandboxSupport | undefined;

/** probeSandbox() once per process. */
export function sandboxSupport(searchPath: string | undefined): SandboxSupport {
  cached ??= probeSandbox({ searchPath });
  return cached;
}
