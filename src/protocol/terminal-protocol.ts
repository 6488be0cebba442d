/**
 * Terminals over the runner channel (our extension of spec/runner-protocol.md; documented in
 * docs/RESOURCES.md, "Terminals"). The runner owns the PTYs and their scrollback; the server
 * proxies the REST routes to it and fans a terminal's output out to the attached WebSockets.
 */
import type { EnvRequestParams } from 'src/protocol/runner-protocol';

export const TerminalMethods = {
  // server → runner requests
  open: 'terminal.open',
  list: 'terminal.list',
  close: 'terminal.close',
  snapshot: 'terminal.snapshot',
  // server → runner notifications
  input: 'terminal.input',
  resize: 'terminal.resize',
  // runner → server notifications
  output: 'terminal.output',
  exit: 'terminal.exit',
} as const;

/** The attach WebSocket: `/v1/sessions/{session_id}/resources/terminals/{terminal_id}/attach`. */
export const TERMINAL_ATTACH_PATH =
  /^\/v1\/sessions\/([^/]+)\/resources\/terminals\/([^/]+)\/attach$/;

/** Requests the runner answers (`terminal.*`, server → runner). */
export const TERMINAL_REQUESTS: readonly string[] = [
  TerminalMethods.open,
  TerminalMethods.list,
  TerminalMethods.close,
  TerminalMethods.snapshot,
];

/** Terminal width and height bounds (columns, rows). */
export const TERMINAL_MIN_SIZE = 1;
export const TERMINAL_MAX_SIZE = 1000;
export const TERMINAL_DEFAULT_COLS = 80;
export const TERMINAL_DEFAULT_ROWS = 24;

/** Scrollback the runner keeps per terminal (bytes of output), replayed on attach. */
export const TERMINAL_SCROLLBACK_BYTES = 256 * 1024;
/** Terminals one session may have open on a runner at once. */
export const TERMINAL_MAX_PER_SESSION = 16;

/** What the agent spec declares for the terminal (`terminals.<name>`), resolved by the server. */
export interface TerminalLaunchSpec {
  command: string;
  args: string[];
  /** Workspace-relative working directory. */
  cwd: string;
  env: Record<string, string>;
}

/** `terminal.open`: idempotent on (session, terminal name, session_key). */
export interface TerminalOpenParams extends EnvRequestParams {
  /** The id to give a new terminal (`term_…`); an existing one keeps its own. */
  terminal_id: string;
  terminal: string;
  session_key: string;
  spec: TerminalLaunchSpec;
  cols: number;
  rows: number;
}

/** A terminal as the runner reports it. */
export interface TerminalInfo {
  terminal_id: string;
  terminal: string;
  session_key: string;
  running: boolean;
  exit_code: number | null;
  cols: number;
  rows: number;
  /** Unix seconds. */
  created_at: number;
  /** Absolute working directory. */
  cwd: string;
  sandbox_type: 'bwrap' | 'none';
}

export interface TerminalOpenResult extends TerminalInfo {
  /** False when an existing terminal was returned. */
  created: boolean;
}

export interface TerminalRef {
  session_id: string;
  terminal_id: string;
}

/** `terminal.snapshot`: the scrollback and the output offset it ends at. */
export interface TerminalSnapshotResult {
  /** base64 of the retained output. */
  data: string;
  /** Total output bytes the terminal has produced (the offset right after `data`). */
  end: number;
  running: boolean;
}

/** `terminal.input` (notification): raw bytes for the PTY. */
export interface TerminalInputParams extends TerminalRef {
  data: string;
}

export interface TerminalResizeParams extends TerminalRef {
  cols: number;
  rows: number;
}

/** `terminal.output` (notification): output starting at byte `offset` of the terminal's output. */
export interface TerminalOutputParams extends TerminalRef {
  offset: number;
  data: string;
}

export interface TerminalExitParams extends TerminalRef {
  exit_code: number | null;
  signal: number | null;
  /** Ended by `terminal.close`, its session closing or the runner stopping (not by itself). */
  closed: boolean;
}
