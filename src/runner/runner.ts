import { AgentSpecWire, BUILTIN_TOOL_NAMES } from 'src/protocol/agent-spec';
import { RPC_INVALID_PARAMS, RPC_METHOD_NOT_FOUND, RpcError } from 'src/protocol/json-rpc';
import {
  ENV_METHODS,
  EnvRequestParams,
  ClientToolResultParams,
  ElicitationResolveParams,
  HelloParams,
  HelloResult,
  Methods,
  RUNNER_PROTOCOL_VERSION,
  RUNNER_RPC_ERROR,
  RunnerErrorCode,
  SessionAckParams,
  SessionCloseParams,
  SessionEventParams,
  SessionInitParams,
  SessionInitResult,
  SessionUpdateParams,
  Timeouts,
  TurnCancelParams,
  TurnStartParams,
  TurnStartResult,
} from 'src/protocol/runner-protocol';
import { ErrorDetail } from 'src/protocol/stream-events';
import { TERMINAL_REQUESTS } from 'src/protocol/terminal-protocol';
import { handleEnvironmentRequest } from 'src/runner/environment-request';
import { HARNESS_NAMES } from 'src/runner/harnesses/harnesses';
import { InitLog } from 'src/runner/init-log';
import { PolicyPushes } from 'src/runner/policy-pushes';
import { RunnerChannel } from 'src/runner/runner-channel';
import { SandboxSupport } from 'src/runner/sandbox/sandbox-probe';
import { ApprovalVerdict, SessionState } from 'src/runner/session-state';
import { TerminalManager } from 'src/runner/terminals/terminal-manager';
import { Turn, TurnAborted } from 'src/runner/turn';
import { TurnServices } from 'src/runner/turn-tools';

export interface RunnerOptions {
  serverUrl: string;
  runnerId: string;
  token?: string;
  bindingToken?: string;
  /** Where per-session workspaces are created (`<root>/<session id>`) unless a session names one. */
  workspaceRoot: string;
  env: Record<string, string | undefined>;
  /** How tools are confined (src/runner/sandbox/). */
  sandbox: {
    support: SandboxSupport;
    /** --require-sandbox: never run tools bare, `sandbox: none` included. */
    required: boolean;
    /** Never shown to tools nor usable as a workspace (the local runner: the server's data dir). */
    protectedPaths: string[];
  };
  /**
   * A session with no turn, nothing queued and every event acknowledged is released after this
   * long (a later turn.start answers session_unknown; the server re-initialises and retries).
   */
  sessionIdleMs: number;
  version: string;
  log(message: string): void;
  /** Detail lines (OMNIGENT_LOG_LEVEL=debug). */
  debug?(message: string): void;
  onConnected?(result: HelloResult): void;
  onFatal?(reason: string): void;
}

/** Idle sessions are looked for at least this often (and at most every half idle time). */
const SWEEP_MAX_MS = 30_000;

/**
 * The reference runner (spec/runner-protocol.md §12): the channel and its handshake, the RPC
 * switch, the sessions it holds, and draining each session's queued turns one after another.
 * A turn itself is `Turn` (turn.ts); a session's seq, outbox and resends are `SessionState`.
 * Memory follows the sessions it is running: idle sessions are released (sweepIdle).
 */
export class Runner {
  private readonly sessions = new Map<string, SessionState>();
  private readonly channel: RunnerChannel;
  private readonly services: TurnServices;
  private sweeper?: NodeJS.Timeout;
  private readonly initLog: InitLog;
  private readonly policyPushes = new PolicyPushes();
  private readonly terminals: TerminalManager;

  constructor(private readonly options: RunnerOptions) {
    const url = new URL(options.serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/runners/${options.runnerId}/channel`;
    const headers: Record<string, string> = { Origin: 'omnigent://internal' };
    if (options.token) {
      headers.Authorization = `Bearer ${options.token}`;
    }
    if (options.bindingToken) {
      headers['X-Omnigent-Runner-Tunnel-Token'] = options.bindingToken;
    }
    this.channel = new RunnerChannel({
      url: url.toString(),
      headers,
      heartbeatMs: 15_000,
      log: options.log,
      onOpen: (channel) => this.handshake(channel),
      onRequest: (method, params) => this.onRequest(method, params),
      onNotification: (method, params) => this.onNotification(method, params),
      onDown: () =>
        options.log('lost the connection to the server; turns go on, events wait in the outbox'),
      onFatal: (reason) => {
        options.log(`giving up: ${reason}`);
        options.onFatal?.(reason);
      },
    });
    this.initLog = new InitLog(options.log, () => this.sessions.size);
    this.services = {
      request: (method, params, timeoutMs) => this.channel.request(method, params, timeoutMs),
      tools: {
        workspaceRoot: options.workspaceRoot,
        env: options.env,
        ...options.sandbox,
      },
      children: {
        create: (params) =>
          this.channel.request(Methods.sessionCreateChild, params, Timeouts.sessionInitMs),
        open: (init, observe) => this.openChild(init, observe),
        run: (child, turn) => {
          child.seenTurns.add(turn.turn_id);
          child.queue.push(turn);
          return this.drain(child, !turn.running_published);
        },
      },
      log: options.log,
    };
    this.terminals = new TerminalManager(this.services.tools, {
      notify: (method, params) => this.channel.notify(method, params),
      log: options.log,
    });
  }

  start(): void {
    this.channel.start();
    const every = Math.max(50, Math.min(SWEEP_MAX_MS, this.options.sessionIdleMs / 2));
    this.sweeper = setInterval(() => this.sweepIdle(), every);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.initLog.flush();
    this.terminals.closeAll();
    for (const session of this.sessions.values()) {
      session.current?.abort.abort(new TurnAborted('runner stopping'));
      void session.mcp?.close();
    }
    this.channel.stop();
  }

  private async handshake(channel: RunnerChannel): Promise<void> {
    const params: HelloParams = {
      protocol: RUNNER_PROTOCOL_VERSION,
      runner_version: this.options.version,
      capabilities: { harnesses: [...HARNESS_NAMES], tools: [...BUILTIN_TOOL_NAMES] },
      sessions: [...this.sessions.values()].map((s) => ({
        session_id: s.id,
        next_seq: s.nextSeq,
        ...(s.current ? { turn: { turn_id: s.current.turnId, state: 'running' as const } } : {}),
        parked_elicitations: [...s.parked.keys()],
      })),
    };
    const result = await channel.helloRequest<HelloResult>(Methods.hello, params, Timeouts.helloMs);
    channel.setHeartbeat(result.heartbeat_s * 1000);
    for (const entry of result.sessions) {
      const session = this.sessions.get(entry.session_id);
      if (!session) {
        continue;
      }
      if (entry.action === 'drop') {
        session.current?.abort.abort(new TurnAborted('dropped by the server'));
        this.forget(session);
        continue;
      }
      session.ack(entry.last_acked_seq);
    }
    // Decisions taken while this runner was away (runner-protocol F5 "delivery after a reconnect").
    for (const verdict of result.verdicts ?? []) {
      for (const session of this.sessions.values()) {
        if (
          session.resolveParked(verdict.elicitation_id, {
            action: verdict.action as ApprovalVerdict['action'],
            content: verdict.content,
          })
        ) {
          break;
        }
      }
    }
    channel.markReady();
    // Re-send what the server has not acknowledged, in seq order (spec §6 rule 4).
    for (const session of this.sessions.values()) {
      for (const params of session.unacked()) {
        channel.notify(Methods.sessionEvent, params);
      }
    }
    this.options.onConnected?.(result);
  }

  private async onRequest(method: string, params: unknown): Promise<unknown> {
    switch (method) {
      case Methods.sessionInit:
        return this.sessionInit(params as SessionInitParams);
      case Methods.sessionUpdate:
        return this.sessionUpdate(params as SessionUpdateParams);
      case Methods.turnStart:
        return this.turnStart(params as TurnStartParams);
      case Methods.turnCancel:
        return this.turnCancel(params as TurnCancelParams);
      case Methods.clientToolResult:
        return this.clientToolResult(params as ClientToolResultParams);
      case Methods.elicitationResolve:
        return this.elicitationResolve(params as ElicitationResolveParams);
      case Methods.sessionClose:
        return this.sessionClose(params as SessionCloseParams);
      case Methods.runnerShutdown:
        setImmediate(() => this.stop());
        return {};
      default:
        if (TERMINAL_REQUESTS.includes(method)) {
          return this.terminals.handle(method, params as Record<string, unknown>);
        }
        if (ENV_METHODS.includes(method)) {
          return handleEnvironmentRequest(
            this.services.tools,
            method,
            params as EnvRequestParams & Record<string, unknown>,
          );
        }
        throw new RpcError(RPC_METHOD_NOT_FOUND, `Unknown method ${method}`);
    }
  }

  private onNotification(method: string, params: unknown): void {
    if (method === Methods.sessionAck) {
      const ack = params as SessionAckParams;
      this.sessions.get(ack?.session_id)?.ack(Number(ack.seq));
    } else {
      this.terminals.onNotification(method, params);
    }
  }

  private requireSession(sessionId: string | undefined): SessionState {
    const session = sessionId ? this.sessions.get(sessionId) : undefined;
    if (!session) {
      throw new RpcError(
        RUNNER_RPC_ERROR[RunnerErrorCode.SessionUnknown],
        `Unknown session ${sessionId}`,
        {
          code: RunnerErrorCode.SessionUnknown,
        },
      );
    }
    return session;
  }

  /** Unregisters a session; its events (a turn still winding down) go nowhere from now on. */
  private forget(session: SessionState): void {
    session.detach();
    if (this.sessions.get(session.id) === session) {
      this.sessions.delete(session.id);
    }
  }

  // Synchronous up to the return: a turn.start sent right after session.init always finds it.
  private sessionInit(params: SessionInitParams): SessionInitResult {
    if (!params?.session_id || !params.agent) {
      throw new RpcError(RPC_INVALID_PARAMS, 'session.init needs session_id and agent');
    }
    const harness = (params.agent.spec as Partial<AgentSpecWire>).executor?.harness ?? 'echo';
    if (!(HARNESS_NAMES as readonly string[]).includes(harness)) {
      throw new RpcError(
        RUNNER_RPC_ERROR[RunnerErrorCode.HarnessNotConfigured],
        `This runner has no '${harness}' harness`,
        {
          code: RunnerErrorCode.HarnessNotConfigured,
        },
      );
    }
    params = { ...params, policy: this.policyPushes.resolve(params.session_id, params.policy) };
    const existing = this.sessions.get(params.session_id);
    if (existing) {
      existing.reinit(params);
    } else {
      const session = new SessionState(params.session_id, params, (event) =>
        this.channel.notify(Methods.sessionEvent, event),
      );
      this.sessions.set(params.session_id, session);
      this.options.debug?.(`session ${params.session_id} initialised (agent ${params.agent.name})`);
      this.initLog.note(params.session_id, params.agent.name);
    }
    return { status: this.sessions.get(params.session_id)?.busy ? 'running' : 'idle' };
  }

  /**
   * A sub-agent's child session the server just created (`session.create_child`): held like any
   * session, its events also shown to the parent's sub-agent call.
   */
  private openChild(
    init: SessionInitParams,
    observe: (params: SessionEventParams) => void,
  ): SessionState {
    const child = new SessionState(init.session_id, init, (event) => {
      this.channel.notify(Methods.sessionEvent, event);
      observe(event);
    });
    this.sessions.get(init.session_id)?.detach();
    this.sessions.set(init.session_id, child);
    this.options.debug?.(`child session ${init.session_id} opened (agent ${init.agent.name})`);
    return child;
  }

  private sessionUpdate(params: SessionUpdateParams): object {
    if (params?.session_id && params.policy) {
      this.policyPushes.pushed(params.session_id, params.policy);
    }
    const session = params?.session_id ? this.sessions.get(params.session_id) : undefined;
    if (!session) {
      // Not held (released, or never initialised here): the next session.init brings the update.
      return {};
    }
    session.init = {
      ...session.init,
      snapshot: { ...session.init.snapshot, ...(params.snapshot ?? {}) },
      // Read at every tool call: a policy attached mid-turn applies to the turn's next call.
      policy: params.policy ?? session.init.policy,
    };
    return {};
  }

  private turnStart(params: TurnStartParams): TurnStartResult {
    const session = this.requireSession(params?.session_id);
    if (session.seenTurns.has(params.turn_id)) {
      return { disposition: session.current?.turnId === params.turn_id ? 'started' : 'queued' };
    }
    session.seenTurns.add(params.turn_id);
    if (params.policy) {
      // Applied on receipt, not when the turn is drained: a later push must win over them.
      session.init = {
        ...session.init,
        policy: this.policyPushes.resolve(session.id, params.policy),
      };
    }
    session.queue.push(params);
    session.touch();
    if (session.busy) {
      return { disposition: 'queued' };
    }
    setImmediate(() => void this.drain(session, !params.running_published));
    return { disposition: 'started' };
  }

  private turnCancel(params: TurnCancelParams): { cancelled: boolean } {
    const session = this.requireSession(params?.session_id);
    const current = session.current;
    // Interrupt stops everything queued behind the current turn too.
    session.queue.splice(0);
    if (!current || (params.turn_id && params.turn_id !== current.turnId)) {
      return { cancelled: false };
    }
    current.abort.abort(new TurnAborted(params.reason));
    return { cancelled: true };
  }

  private clientToolResult(params: ClientToolResultParams): { delivered: boolean } {
    const session = this.requireSession(params?.session_id);
    const pending = session.current?.clientCalls.get(params.call_id);
    if (!pending) {
      return { delivered: false };
    }
    pending.resolve(String(params.output ?? ''));
    return { delivered: true };
  }

  private elicitationResolve(params: ElicitationResolveParams): { delivered: boolean } {
    const session = this.requireSession(params?.session_id);
    return {
      delivered: session.resolveParked(String(params.elicitation_id), {
        action: params.action,
        content: params.content,
      }),
    };
  }

  private sessionClose(params: SessionCloseParams): object {
    // Terminals end with their session (also when this runner no longer holds its state).
    this.terminals.closeSession(params?.session_id);
    const session = this.sessions.get(params?.session_id);
    if (session) {
      session.queue.splice(0);
      session.current?.abort.abort(new TurnAborted(params.reason));
      this.forget(session);
      this.policyPushes.forget(session.id);
      this.options.log(`session ${params.session_id} closed (${params.reason})`);
    }
    return {};
  }

  /** Releases sessions idle for `sessionIdleMs`; the server holds everything they knew. */
  private sweepIdle(): void {
    const now = Date.now();
    let released = 0;
    for (const session of [...this.sessions.values()]) {
      if (session.isIdle(now, this.options.sessionIdleMs)) {
        this.forget(session);
        released++;
      }
    }
    if (released > 0) {
      this.options.debug?.(
        `released ${released} idle session${released === 1 ? '' : 's'} (holding ${this.sessions.size})`,
      );
    }
  }

  /**
   * Runs queued turns back to back under one `running`, then goes idle (or failed). Resolves
   * with the last turn's failure, if it failed.
   */
  private async drain(
    session: SessionState,
    publishRunning: boolean,
  ): Promise<ErrorDetail | undefined> {
    if (session.busy) {
      return undefined;
    }
    let failure: ErrorDetail | undefined;
    let first = true;
    while (session.queue.length > 0 && session.attached) {
      const turn = session.queue.shift() as TurnStartParams;
      if (first && publishRunning) {
        session.status('running', undefined, turn.turn_id);
      }
      first = false;
      failure = await new Turn(this.services, session, turn).run();
    }
    if (session.attached) {
      session.status(failure ? 'failed' : 'idle', failure);
    }
    return failure;
  }
}
