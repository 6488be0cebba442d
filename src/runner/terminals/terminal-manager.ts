import { statSync } from 'node:fs';

import type { IPty } from 'node-pty';

import { RpcError } from 'src/protocol/json-rpc';
import { ENV_RUNNER_ERROR } from 'src/protocol/runner-protocol';
import {
  TERMINAL_DEFAULT_COLS,
  TERMINAL_DEFAULT_ROWS,
  TERMINAL_MAX_PER_SESSION,
  TERMINAL_MAX_SIZE,
  TERMINAL_MIN_SIZE,
  TERMINAL_SCROLLBACK_BYTES,
  TerminalExitParams,
  TerminalInfo,
  TerminalInputParams,
  TerminalMethods,
  TerminalOpenParams,
  TerminalOpenResult,
  TerminalOutputParams,
  TerminalRef,
  TerminalResizeParams,
  TerminalSnapshotResult,
} from 'src/protocol/terminal-protocol';
import { placeTools, ToolSettings } from 'src/runner/sandbox/session-sandbox';
import { ScrollbackBuffer } from 'src/runner/terminals/scrollback';
import { resolveInWorkspace } from 'src/runner/tools/workspace-path';

/** Output is gathered this long (or up to OUTPUT_CHUNK_BYTES) before it is sent. */
const OUTPUT_COALESCE_MS = 8;
const OUTPUT_CHUNK_BYTES = 64 * 1024;
/** After SIGHUP, a terminal's process group gets this long before SIGKILL. */
const KILL_GRACE_MS = 2_000;

/** How the manager talks back to the server. */
export interface TerminalChannel {
  /** Sends a notification if connected; output produced while disconnected stays in scrollback. */
  notify(method: string, params: unknown): boolean;
  log(message: string): void;
}

type PtyModule = typeof import('node-pty');
let ptyModule: PtyModule | null = null;

/** node-pty, loaded on first use: a runner whose native build failed still runs agents. */
function loadPty(): PtyModule {
  if (!ptyModule) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ptyModule = require('node-pty') as PtyModule;
    } catch (error) {
      throw refusal(
        500,
        'terminal_launch_failed',
        `terminals are not available on this runner: node-pty failed to load (${(error as Error).message})`,
      );
    }
  }
  return ptyModule;
}

function refusal(status: number, code: string, message: string): RpcError {
  return new RpcError(ENV_RUNNER_ERROR, message, { code, status } as never);
}

function size(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= TERMINAL_MIN_SIZE && n <= TERMINAL_MAX_SIZE ? n : fallback;
}

class RunnerTerminal {
  running = true;
  exitCode: number | null = null;
  readonly scrollback = new ScrollbackBuffer(TERMINAL_SCROLLBACK_BYTES);
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushTimer?: NodeJS.Timeout;
  private killTimer?: NodeJS.Timeout;
  private closing = false;

  constructor(
    readonly id: string,
    readonly sessionId: string,
    readonly name: string,
    readonly sessionKey: string,
    readonly cwd: string,
    readonly sandboxType: 'bwrap' | 'none',
    readonly pty: IPty,
    public cols: number,
    public rows: number,
    private readonly channel: TerminalChannel,
    readonly createdAt = Math.floor(Date.now() / 1000),
  ) {}

  info(): TerminalInfo {
    return {
      terminal_id: this.id,
      terminal: this.name,
      session_key: this.sessionKey,
      running: this.running,
      exit_code: this.exitCode,
      cols: this.cols,
      rows: this.rows,
      created_at: this.createdAt,
      cwd: this.cwd,
      sandbox_type: this.sandboxType,
    };
  }

  onOutput(data: Buffer): void {
    this.scrollback.append(data);
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= OUTPUT_CHUNK_BYTES) {
      this.flush();
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), OUTPUT_COALESCE_MS);
    }
  }

  /** Sends gathered output; its offset is where it starts in the terminal's whole output. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pendingBytes === 0) {
      return;
    }
    const data = Buffer.concat(this.pending, this.pendingBytes);
    const offset = this.scrollback.end - data.length;
    this.pending = [];
    this.pendingBytes = 0;
    const params: TerminalOutputParams = {
      session_id: this.sessionId,
      terminal_id: this.id,
      offset,
      data: data.toString('base64'),
    };
    this.channel.notify(TerminalMethods.output, params);
  }

  onExit(exitCode: number, signal: number | undefined): void {
    this.flush();
    this.running = false;
    this.exitCode = signal ? null : exitCode;
    clearTimeout(this.killTimer);
    const params: TerminalExitParams = {
      session_id: this.sessionId,
      terminal_id: this.id,
      exit_code: this.exitCode,
      signal: signal || null,
      closed: this.closing,
    };
    this.channel.notify(TerminalMethods.exit, params);
  }

  /** SIGHUP to the terminal's process group (as closing a terminal window does), then SIGKILL. */
  kill(): void {
    this.flush();
    if (!this.running) {
      return;
    }
    this.closing = true;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-this.pty.pid, signal);
      } catch {
        try {
          this.pty.kill(signal);
        } catch {
          // already gone
        }
      }
    };
    signalGroup('SIGHUP');
    this.killTimer = setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
    this.killTimer.unref();
  }
}

/**
 * The runner's terminals (docs/RESOURCES.md, "Terminals"): real PTYs (node-pty) running the
 * command the agent spec declares, in the session workspace and in the same sandbox as the
 * agent's `shell` tool (bubblewrap: cleared environment, new PID namespace). Each keeps a
 * bounded scrollback; output is streamed to the server as `terminal.output` notifications.
 * Terminals end when their session is closed or deleted, and when the runner stops.
 */
export class TerminalManager {
  private readonly terminals = new Map<string, RunnerTerminal>();

  constructor(
    private readonly settings: ToolSettings,
    private readonly channel: TerminalChannel,
  ) {}

  /** Answers a `terminal.*` request. */
  handle(method: string, params: Record<string, unknown>): unknown {
    if (!params || typeof params.session_id !== 'string') {
      throw refusal(400, 'invalid_input', `${method} needs session_id`);
    }
    switch (method) {
      case TerminalMethods.open:
        return this.open(params as unknown as TerminalOpenParams);
      case TerminalMethods.list:
        return this.list(params.session_id);
      case TerminalMethods.close:
        return this.close(params as unknown as TerminalRef);
      case TerminalMethods.snapshot:
        return this.snapshot(params as unknown as TerminalRef);
      default:
        throw refusal(404, 'not_found', `Unknown terminal method ${method}`);
    }
  }

  /** `terminal.input` / `terminal.resize` notifications; anything unknown is ignored. */
  onNotification(method: string, params: unknown): void {
    const ref = params as TerminalRef | undefined;
    const terminal = ref ? this.find(ref) : undefined;
    if (!terminal?.running) {
      return;
    }
    if (method === TerminalMethods.input) {
      const data = (params as TerminalInputParams).data;
      if (typeof data === 'string' && data.length > 0) {
        terminal.pty.write(Buffer.from(data, 'base64'));
      }
    } else if (method === TerminalMethods.resize) {
      const { cols, rows } = params as TerminalResizeParams;
      terminal.cols = size(cols, terminal.cols);
      terminal.rows = size(rows, terminal.rows);
      try {
        terminal.pty.resize(terminal.cols, terminal.rows);
      } catch {
        // exited between the check and the call
      }
    }
  }

  closeSession(sessionId: string): number {
    let closed = 0;
    for (const terminal of [...this.terminals.values()]) {
      if (terminal.sessionId === sessionId) {
        this.remove(terminal);
        closed++;
      }
    }
    return closed;
  }

  closeAll(): void {
    for (const terminal of [...this.terminals.values()]) {
      this.remove(terminal);
    }
  }

  private open(params: TerminalOpenParams): TerminalOpenResult {
    const { session_id: sessionId, terminal: name, session_key: sessionKey } = params;
    if (typeof name !== 'string' || typeof sessionKey !== 'string' || !params.spec?.command) {
      throw refusal(400, 'invalid_input', 'terminal.open needs terminal, session_key and spec');
    }
    const ofSession = [...this.terminals.values()].filter((t) => t.sessionId === sessionId);
    const existing = ofSession.find((t) => t.name === name && t.sessionKey === sessionKey);
    if (existing) {
      return { ...existing.info(), created: false };
    }
    if (ofSession.length >= TERMINAL_MAX_PER_SESSION) {
      throw refusal(
        409,
        'resource_conflict',
        `A session may have at most ${TERMINAL_MAX_PER_SESSION} terminals; delete one first`,
      );
    }
    const place = placeTools(this.settings, {
      sessionId,
      workspace: params.workspace ?? null,
      sandbox: params.sandbox,
    });
    if ('error' in place) {
      throw refusal(409, 'resource_conflict', place.error);
    }
    let cwd: string;
    try {
      cwd = resolveInWorkspace(place.workspace, params.spec.cwd ?? '');
      if (!statSync(cwd).isDirectory()) {
        throw new Error('not a directory');
      }
    } catch (error) {
      throw refusal(
        400,
        'invalid_path',
        `The terminal's cwd '${params.spec.cwd}' is not a directory in the workspace (${(error as Error).message})`,
      );
    }
    const cols = size(params.cols, TERMINAL_DEFAULT_COLS);
    const rows = size(params.rows, TERMINAL_DEFAULT_ROWS);
    const launch = place.sandbox.ptyLaunch(
      [params.spec.command, ...(params.spec.args ?? [])],
      cwd,
      {
        ...(params.spec.env ?? {}),
        TERM: 'xterm-256color',
        COLORTERM: 'truecolor',
      },
    );
    let pty: IPty;
    try {
      pty = loadPty().spawn(launch.file, launch.args, {
        name: 'xterm-256color',
        cols,
        rows,
        cwd: launch.cwd,
        env: launch.env,
      });
    } catch (error) {
      if (error instanceof RpcError) {
        throw error;
      }
      throw refusal(
        500,
        'terminal_launch_failed',
        `Could not start '${params.spec.command}': ${(error as Error).message}`,
      );
    }
    const terminal = new RunnerTerminal(
      params.terminal_id,
      sessionId,
      name,
      sessionKey,
      cwd,
      place.sandbox.kind,
      pty,
      cols,
      rows,
      this.channel,
    );
    pty.onData((data) => terminal.onOutput(Buffer.from(data, 'utf8')));
    pty.onExit(({ exitCode, signal }) => terminal.onExit(exitCode, signal));
    this.terminals.set(terminal.id, terminal);
    this.channel.log(
      `terminal ${terminal.id} (${name}:${sessionKey}) started for session ${sessionId} (${place.sandbox.kind} sandbox)`,
    );
    return { ...terminal.info(), created: true };
  }

  private list(sessionId: string): TerminalInfo[] {
    return [...this.terminals.values()]
      .filter((t) => t.sessionId === sessionId)
      .map((t) => t.info());
  }

  private close(ref: TerminalRef): { closed: boolean } {
    const terminal = this.require(ref);
    this.remove(terminal);
    return { closed: true };
  }

  private snapshot(ref: TerminalRef): TerminalSnapshotResult {
    const terminal = this.require(ref);
    // Output gathered but not yet sent is in the snapshot; its notification follows and the
    // server drops the part below `end`.
    const { data, end } = terminal.scrollback.snapshot();
    return { data: data.toString('base64'), end, running: terminal.running };
  }

  private remove(terminal: RunnerTerminal): void {
    this.terminals.delete(terminal.id);
    terminal.kill();
  }

  private find(ref: TerminalRef): RunnerTerminal | undefined {
    const terminal = this.terminals.get(String(ref.terminal_id));
    return terminal && terminal.sessionId === ref.session_id ? terminal : undefined;
  }

  private require(ref: TerminalRef): RunnerTerminal {
    const terminal = this.find(ref);
    if (!terminal) {
      throw refusal(404, 'not_found', 'Terminal not found');
    }
    return terminal;
  }
}
