/**
 * The host channel (spec/runner-protocol.md §3, §5 "Host ↔ server"): methods, params and results
 * shared by the server's host gateway and the host daemon (`omnigent host`).
 */
export const HOST_PROTOCOL_VERSION = 1;
export const HOST_SUBPROTOCOL = 'omnigent.host.v1';

export const HostMethods = {
  // host → server
  hello: 'host.hello',
  capabilities: 'host.capabilities',
  runnerExited: 'runner.exited',
  heartbeat: '$/heartbeat',
  // server → host
  runnerLaunch: 'runner.launch',
  runnerStop: 'runner.stop',
  runnerStatus: 'runner.status',
  fsStat: 'fs.stat',
  fsList: 'fs.list',
  fsMkdir: 'fs.mkdir',
  worktreeList: 'worktree.list',
} as const;

/** `error.data.code` values a host answers with (besides the runner codes of runner-protocol.ts). */
export enum HostErrorCode {
  NotFound = 'not_found',
  PermissionDenied = 'permission_denied',
  PathUnreachable = 'path_unreachable',
  AlreadyExists = 'already_exists',
  InvalidPath = 'invalid_path',
  NotAGitRepo = 'not_a_git_repo',
  IoError = 'io_error',
}

/** Harness name → whether it is usable on this host (true, or a reason string when not). */
export type HarnessAvailability = Record<string, boolean | string>;

export interface HostHelloParams {
  protocol: number;
  version: string;
  name: string;
  /** Runner processes the daemon is still supervising (after a reconnect). */
  runners: string[];
  capabilities: { harnesses: HarnessAvailability };
}

export interface HostHelloResult {
  server_version: string;
  epoch: number;
  heartbeat_s: number;
  /** Runners the server no longer knows about: the host stops them (orphans). */
  stop_runners: string[];
}

export interface RunnerLaunchParams {
  binding_token: string;
  workspace: string;
  session_id: string;
  harness?: string;
}

export interface RunnerLaunchResult {
  runner_id: string;
}

export interface RunnerExitedParams {
  runner_id: string;
  exit_code: number | null;
  signal?: string | null;
  /** The exit reason: code or signal, then the tail of the runner's log. */
  error: string;
  /** The server asked for this stop (runner.stop): nothing failed. */
  stopped?: boolean;
}

export interface FsEntry {
  name: string;
  path: string;
  type: 'directory' | 'file' | 'other';
  bytes: number | null;
  modified_at: number | null;
}

export interface FsListParams {
  path: string;
  limit: number;
  after?: string;
  before?: string;
}

export interface FsListResult {
  path: string;
  entries: FsEntry[];
  has_more: boolean;
}

export interface FsStatResult {
  exists: boolean;
  type?: FsEntry['type'];
  canonical_path?: string;
}

export interface WorktreeEntry {
  path: string;
  branch: string | null;
  is_main: boolean;
  detached: boolean;
}

/** Host calls answer within these (spec/runner-protocol.md §11; the server's are configurable). */
export const HostTimeouts = {
  helloMs: 10_000,
};

/** `GET /v1/hosts/{host_id}/channel`. */
export const HOST_CHANNEL_PATH = /^\/v1\/hosts\/([^/]+)\/channel$/;
