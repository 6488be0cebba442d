import { createHash } from 'node:crypto';

/**
 * The runner channel (spec/runner-protocol.md §3–§6): methods, params and results shared by the
 * server's gateway and the reference runner.
 */
import type { AgentSandboxWire } from 'src/protocol/agent-spec';
import { FlatItem } from 'src/protocol/items';
import { StreamEvent } from 'src/protocol/stream-events';

export const RUNNER_PROTOCOL_VERSION = 1;
export const RUNNER_SUBPROTOCOL = 'omnigent.runner.v1';

export enum CloseCode {
  Replaced = 4000,
  ProtocolError = 4001,
  UnsupportedVersion = 4002,
  HeartbeatTimeout = 4003,
  AuthFailure = 4004,
  ServerShutdown = 4005,
  /** The runner sent more messages than its connection's rate limit (reconnect with backoff). */
  RateLimited = 4006,
}

/** The runner stops reconnecting on these; anything else means "reconnect with backoff". */
export const FATAL_CLOSE_CODES: readonly number[] = [
  CloseCode.ProtocolError,
  CloseCode.UnsupportedVersion,
  CloseCode.AuthFailure,
];

/** `error.data.code` values (spec/runner-protocol.md §5). */
export enum RunnerErrorCode {
  SessionUnknown = 'session_unknown',
  Busy = 'busy',
  NotSupported = 'not_supported',
  StaleEpoch = 'stale_epoch',
  HarnessNotConfigured = 'harness_not_configured',
  WorkspaceMissing = 'workspace_missing',
  SpawnFailed = 'spawn_failed',
  FileUnavailable = 'file_unavailable',
  /** `session.create_child`: the sub-agent tool already made its `max_sessions` children. */
  MaxSessionsReached = 'max_sessions_reached',
  /** `session.create_child`: the parent's agent has no sub-agent tool of that name. */
  NoSuchSubAgent = 'no_such_sub_agent',
  /** `session.create_child`: the owner has no room for another session. */
  SessionQuota = 'session_quota',
}

export const RUNNER_RPC_ERROR: Record<RunnerErrorCode, number> = {
  [RunnerErrorCode.SessionUnknown]: 1001,
  [RunnerErrorCode.Busy]: 1002,
  [RunnerErrorCode.NotSupported]: 1003,
  [RunnerErrorCode.StaleEpoch]: 1004,
  [RunnerErrorCode.HarnessNotConfigured]: 1100,
  [RunnerErrorCode.WorkspaceMissing]: 1101,
  [RunnerErrorCode.SpawnFailed]: 1102,
  [RunnerErrorCode.FileUnavailable]: 1200,
  [RunnerErrorCode.MaxSessionsReached]: 1400,
  [RunnerErrorCode.NoSuchSubAgent]: 1401,
  [RunnerErrorCode.SessionQuota]: 1402,
};

export const Methods = {
  // runner → server
  hello: 'runner.hello',
  sessionHistory: 'session.history',
  toolAuthorize: 'tool.authorize',
  toolReview: 'tool.review',
  fileGet: 'file.get',
  sessionCreateChild: 'session.create_child',
  sessionEvent: 'session.event',
  heartbeat: '$/heartbeat',
  // server → runner
  sessionInit: 'session.init',
  sessionUpdate: 'session.update',
  turnStart: 'turn.start',
  turnCancel: 'turn.cancel',
  clientToolResult: 'client_tool.result',
  elicitationResolve: 'elicitation.resolve',
  sessionClose: 'session.close',
  sessionAck: 'session.ack',
  runnerShutdown: 'runner.shutdown',
  // server → runner: the session's environment (our extension, docs/RESOURCES.md)
  envDescribe: 'env.describe',
  envList: 'env.list',
  envRead: 'env.read',
  envWrite: 'env.write',
  envEdit: 'env.edit',
  envDelete: 'env.delete',
  envSearch: 'env.search',
  envChanges: 'env.changes',
  envShell: 'env.shell',
} as const;

/** Every `env.*` method. */
export const ENV_METHODS: readonly string[] = [
  Methods.envDescribe,
  Methods.envList,
  Methods.envRead,
  Methods.envWrite,
  Methods.envEdit,
  Methods.envDelete,
  Methods.envSearch,
  Methods.envChanges,
  Methods.envShell,
];

/** JSON-RPC error code of an `env.*` refusal; `data` carries `{code, status}` (the HTTP answer). */
export const ENV_RUNNER_ERROR = 1300;

/** The most bytes `env.read` returns of a file (more is `truncated`). */
export const ENV_READ_MAX_BYTES = 1024 * 1024;

/**
 * Every `env.*` request names the session and where its tools run (the runner may not hold the
 * session: environments are reachable between turns too). `path` is workspace-relative.
 */
export interface EnvRequestParams {
  session_id: string;
  workspace?: string | null;
  sandbox?: AgentSandboxWire | null;
  path?: string;
}

export interface EnvShellParams extends EnvRequestParams {
  command: string;
  /** Seconds. */
  timeout?: number;
}

/** A filesystem entry (spec/api-reference.md §8.4). */
export interface EnvEntry {
  id: string;
  object: 'session.environment.filesystem.entry';
  name: string;
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  bytes: number | null;
  modified_at: number | null;
}

/** Timers (spec/runner-protocol.md §11). */
export const Timeouts = {
  helloMs: 10_000,
  sessionInitMs: 30_000,
  turnStartMs: 15_000,
  turnCancelMs: 5_000,
  toolAuthorizeMs: 10_000,
  toolReviewMs: 10_000,
  elicitationResolveMs: 10_000,
  /** The runner gives up on a parked approval this long after its `expires_at` (server owns timeouts). */
  elicitationGraceMs: 60_000,
  clientToolResultMs: 10_000,
  sessionCloseMs: 5_000,
  fileGetMs: 30_000,
};

export interface HelloSession {
  session_id: string;
  next_seq: number;
  turn?: { turn_id: string; state: 'running' | 'waiting_approval' };
  parked_elicitations: string[];
}

export interface HelloParams {
  protocol: number;
  runner_version: string;
  capabilities: { harnesses: string[]; tools: string[]; max_sessions?: number };
  sessions: HelloSession[];
}

export interface HelloResult {
  server_version: string;
  connection_id: string;
  epoch: number;
  heartbeat_s: number;
  runner_id: string;
  sessions: { session_id: string; last_acked_seq: number; action: 'keep' | 'drop' | 'reinit' }[];
  verdicts: { elicitation_id: string; action: string; content?: unknown }[];
}

/** A client-side tool the agent may call; the client answers with `function_call_output`. */
export interface ClientToolSpec {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export interface SessionInitParams {
  session_id: string;
  agent: { id: string; name: string; version: number; spec: Record<string, unknown> };
  snapshot: {
    workspace: string | null;
    labels: Record<string, string>;
    model_override: string | null;
    reasoning_effort: string | null;
    parent_session_id: string | null;
  };
  history?: FlatItem[];
  /** True when `history` is incomplete and the rest must be fetched with `session.history`. */
  history_truncated?: boolean;
  next_seq: number;
  policy: PolicyFlags;
}

/**
 * Whether the runner must call `tool.authorize` / `tool.review`. Sent with `session.init` and
 * every `turn.start` (fresh when computed, but may cross a change in flight, so the runner may
 * only raise flags from them while a push is recent) and pushed exactly by `session.update`
 * when the session's policies change.
 */
export interface PolicyFlags {
  tool_call: boolean;
  tool_result: boolean;
}

/** `session.update`: a snapshot change, or the session's new policy flags. */
export interface SessionUpdateParams {
  session_id: string;
  snapshot?: Partial<SessionInitParams['snapshot']>;
  policy?: PolicyFlags;
}

export interface SessionInitResult {
  status: 'idle' | 'running';
}

export interface TurnStartParams {
  session_id: string;
  turn_id: string;
  input: { item_id: string; role: 'user'; content: unknown[] };
  overrides?: { model?: string | null; reasoning_effort?: string | null };
  client_tools?: ClientToolSpec[];
  /**
   * Our extension: the server already published `session.status running` for this turn (it
   * does so when the session was idle, so the stream shows it before `session.input.consumed`).
   * When false and the runner is idle, the runner publishes it itself.
   */
  running_published: boolean;
  /** The policy flags as of this turn (our extension; absent from older servers). */
  policy?: PolicyFlags;
}

export interface TurnStartResult {
  disposition: 'started' | 'queued';
}

export interface TurnCancelParams {
  session_id: string;
  turn_id?: string | null;
  reason: 'user_interrupt' | 'stop' | 'superseded';
}

export interface ClientToolResultParams {
  session_id: string;
  call_id: string;
  output: string;
}

export interface SessionCloseParams {
  session_id: string;
  reason: 'deleted' | 'stopped' | 'rebound';
}

/**
 * How far one durable `session.event` may jump past the last seq the server stored. Seqs count
 * every event, transient deltas included, so real gaps are large but nowhere near this; a seq
 * beyond it (2^53 and the like) would make every later, honest event look like a duplicate.
 */
export const MAX_SEQ_GAP = 1_000_000_000;

/** A well-formed event seq: a positive safe integer (2^53 and above compare wrongly as numbers). */
export function isEventSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

export interface SessionEventParams {
  session_id: string;
  seq: number;
  turn_id?: string | null;
  durable: boolean;
  event: StreamEvent;
}

export interface SessionAckParams {
  session_id: string;
  seq: number;
}

export interface ToolAuthorizeParams {
  session_id: string;
  turn_id: string;
  call_id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export type ToolAuthorizeResult =
  | { decision: 'allow'; arguments?: Record<string, unknown> }
  | { decision: 'deny'; reason: string; output: string }
  | { decision: 'ask'; elicitation_id: string; expires_at: number };

export interface ToolReviewParams {
  session_id: string;
  turn_id: string;
  call_id: string;
  name: string;
  output: string;
}

export type ToolReviewResult =
  { decision: 'allow'; output?: string } | { decision: 'deny'; output: string };

export type ElicitationAction = 'accept' | 'decline' | 'cancel';

/** Server → runner: the decision on a parked approval (spec/runner-protocol.md F5). */
export interface ElicitationResolveParams {
  session_id: string;
  elicitation_id: string;
  action: ElicitationAction;
  content?: Record<string, unknown> | null;
  reason?: 'user' | 'timeout' | 'turn_cancelled';
}
/** `file.get`: a file of the session (an attachment's `file_id`), base64 in one frame. */
export interface FileGetParams {
  session_id: string;
  file_id: string;
}

export interface FileGetResult {
  name: string;
  media_type: string;
  base64: string;
}

/**
 * `session.create_child` (runner → server, our extension): a `type: agent` tool call of a
 * session this runner serves becomes a child session (docs/AGENT-SPEC.md "Sub-agents"). The
 * server derives the child's agent from the parent's spec (the tool named `tool`), creates the
 * child bound to this runner, stores `input` as its first message, records that turn as running
 * and answers with the child's `session.init`; the runner then runs `turn_id` itself and its
 * events flow into the child's stream like any session's.
 */
export interface SessionCreateChildParams {
  parent_session_id: string;
  /** The parent's turn and tool call that asked for the child (for the logs). */
  turn_id: string;
  call_id: string;
  /** The sub-agent tool's name in the parent's spec. */
  tool: string;
  /** The task: the child's first user message. */
  input: string;
}

export interface SessionCreateChildResult {
  session_id: string;
  /** The child's first turn, already recorded as running (`running_published`). */
  turn_id: string;
  /** The stored user message of that turn. */
  item_id: string;
  init: SessionInitParams;
}

/** The largest file `file.get` returns: its base64 must fit a 16 MiB frame. */
export const FILE_GET_MAX_BYTES = 10 * 1024 * 1024;

export interface SessionHistoryParams {
  session_id: string;
  after?: string;
  limit?: number;
}

export interface SessionHistoryResult {
  items: FlatItem[];
  has_more: boolean;
}

/** Now, as the protocol writes times: integer Unix seconds (spec/README.md §2). */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export const sha256hex = (value: string): string =>
  createHash('sha256').update(value).digest('hex');

/** Derives the runner id bound to a binding token (upstream's derivation, spec/auth.md §2.5). */
export function runnerIdForBindingToken(token: string): string {
  return `runner_token_${sha256hex(`omnigent-runner:${token}`).slice(0, 32)}`;
}
