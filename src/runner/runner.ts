import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import { FlatItem } from 'src/protocol/items';
import { RPC_INVALID_PARAMS, RPC_METHOD_NOT_FOUND, RpcError } from 'src/protocol/json-rpc';
import {
  ClientToolResultParams,
  HelloParams,
  HelloResult,
  Methods,
  RUNNER_PROTOCOL_VERSION,
  RUNNER_RPC_ERROR,
  RunnerErrorCode,
  SessionAckParams,
  SessionCloseParams,
  SessionEventParams,
  SessionHistoryResult,
  SessionInitParams,
  SessionInitResult,
  Timeouts,
  ToolAuthorizeResult,
  TurnCancelParams,
  TurnStartParams,
  TurnStartResult,
} from 'src/protocol/runner-protocol';
import { AgentSpecWire } from 'src/protocol/agent-spec';
import { ErrorDetail, StreamEvent } from 'src/protocol/stream-events';
import { HARNESS_NAMES, createHarness } from 'src/runner/harnesses/harnesses';
import { HarnessAgent, HarnessError, HarnessToolCall } from 'src/runner/harnesses/harness';
import { RunnerChannel } from 'src/runner/runner-channel';
import { resolveSandbox } from 'src/runner/sandbox/sandbox-policy';
import { SandboxSupport } from 'src/runner/sandbox/sandbox-probe';
import { BwrapTools, ToolSandbox, UnsandboxedTools } from 'src/runner/sandbox/tool-sandbox';
import { realPathOf, refusalFor } from 'src/runner/sandbox/workspace-guard';
import { OUTBOX_MAX_BYTES, OUTBOX_MAX_EVENTS, SessionState } from 'src/runner/session-state';
import { BUILTIN_TOOL_NAMES, getBuiltinTool } from 'src/runner/tools/builtin-tools';
import { ToolDefinition } from 'src/runner/tools/tool';

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
  version: string;
  log(message: string): void;
  onConnected?(result: HelloResult): void;
  onFatal?(reason: string): void;
}

/** The item id of something this runner produced (ULID-like: time + random, spec §6 rule 1). */
function itemId(prefix: string): string {
  return `${prefix}_${Date.now().toString(16).padStart(12, '0')}${randomBytes(10).toString('hex')}`;
}

interface AgentSpecJson {
  name?: string;
  instructions?: string | null;
  executor?: HarnessAgent['executor'];
  params?: Record<string, unknown>;
  tools?: (
    | { name: string; runtime: 'server' }
    | {
        name: string;
        runtime: 'client';
        description?: string;
        parameters?: Record<string, unknown>;
      }
  )[];
  max_iterations?: number;
}

class TurnAborted extends Error {}

const CLIENT_TOOL_WAIT_MS = 30 * 60_000;

/**
 * The reference runner (spec/runner-protocol.md §12): holds sessions, runs their turns with a
 * harness, and streams every event to the server with a per-session seq. Durable events stay in
 * an outbox until acknowledged and are re-sent after a reconnect; deltas are fire-and-forget.
 */
export class Runner {
  private readonly sessions = new Map<string, SessionState>();
  private readonly channel: RunnerChannel;

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
  }

  start(): void {
    this.channel.start();
  }

  stop(): void {
    for (const session of this.sessions.values()) {
      session.current?.abort.abort(new TurnAborted('runner stopping'));
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
        parked_elicitations: [],
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
        this.sessions.delete(entry.session_id);
        continue;
      }
      session.ack(entry.last_acked_seq);
    }
    channel.markReady();
    // Re-send what the server has not acknowledged, in seq order (spec §6 rule 4).
    for (const session of this.sessions.values()) {
      for (const seq of [...session.outbox.keys()].sort((a, b) => a - b)) {
        channel.notify(Methods.sessionEvent, session.outbox.get(seq)?.params);
      }
    }
    this.options.onConnected?.(result);
  }

  private async onRequest(method: string, params: unknown): Promise<unknown> {
    switch (method) {
      case Methods.sessionInit:
        return this.sessionInit(params as SessionInitParams);
      case Methods.sessionUpdate:
        return this.sessionUpdate(
          params as { session_id: string; snapshot?: Partial<SessionInitParams['snapshot']> },
        );
      case Methods.turnStart:
        return this.turnStart(params as TurnStartParams);
      case Methods.turnCancel:
        return this.turnCancel(params as TurnCancelParams);
      case Methods.clientToolResult:
        return this.clientToolResult(params as ClientToolResultParams);
      case Methods.sessionClose:
        return this.sessionClose(params as SessionCloseParams);
      case Methods.runnerShutdown:
        setImmediate(() => this.stop());
        return {};
      default:
        throw new RpcError(RPC_METHOD_NOT_FOUND, `Unknown method ${method}`);
    }
  }

  private onNotification(method: string, params: unknown): void {
    if (method === Methods.sessionAck) {
      const ack = params as SessionAckParams;
      this.sessions.get(ack?.session_id)?.ack(Number(ack.seq));
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

  // Synchronous up to the return: a turn.start sent right after session.init always finds it.
  private sessionInit(params: SessionInitParams): SessionInitResult {
    if (!params?.session_id || !params.agent) {
      throw new RpcError(RPC_INVALID_PARAMS, 'session.init needs session_id and agent');
    }
    const harness = ((params.agent.spec as AgentSpecJson).executor?.harness ?? 'echo') as string;
    if (!(HARNESS_NAMES as readonly string[]).includes(harness)) {
      throw new RpcError(
        RUNNER_RPC_ERROR[RunnerErrorCode.HarnessNotConfigured],
        `This runner has no '${harness}' harness`,
        {
          code: RunnerErrorCode.HarnessNotConfigured,
        },
      );
    }
    const existing = this.sessions.get(params.session_id);
    if (existing) {
      existing.reinit(params);
    } else {
      this.sessions.set(params.session_id, new SessionState(params.session_id, params));
      this.options.log(`session ${params.session_id} ready (agent ${params.agent.name})`);
    }
    return { status: this.sessions.get(params.session_id)?.busy ? 'running' : 'idle' };
  }

  private sessionUpdate(params: {
    session_id: string;
    snapshot?: Partial<SessionInitParams['snapshot']>;
  }): object {
    const session = this.requireSession(params?.session_id);
    session.init = {
      ...session.init,
      snapshot: { ...session.init.snapshot, ...(params.snapshot ?? {}) },
    };
    return {};
  }

  private turnStart(params: TurnStartParams): TurnStartResult {
    const session = this.requireSession(params?.session_id);
    if (session.seenTurns.has(params.turn_id)) {
      return { disposition: session.current?.turnId === params.turn_id ? 'started' : 'queued' };
    }
    session.seenTurns.add(params.turn_id);
    session.queue.push(params);
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

  private sessionClose(params: SessionCloseParams): object {
    const session = this.sessions.get(params?.session_id);
    if (session) {
      session.queue.splice(0);
      session.current?.abort.abort(new TurnAborted(params.reason));
      this.sessions.delete(params.session_id);
      this.options.log(`session ${params.session_id} closed (${params.reason})`);
    }
    return {};
  }

  /** Emits one event with the next seq; durable ones wait in the outbox until acknowledged. */
  private emit(
    session: SessionState,
    event: StreamEvent,
    durable: boolean,
    turnId: string | null,
  ): void {
    const params: SessionEventParams = {
      session_id: session.id,
      seq: session.nextSeq++,
      turn_id: turnId,
      durable,
      event,
    };
    if (durable) {
      const bytes = Buffer.byteLength(JSON.stringify(params));
      if (
        session.outbox.size >= OUTBOX_MAX_EVENTS ||
        session.outboxBytes + bytes > OUTBOX_MAX_BYTES
      ) {
        session.current?.abort.abort(
          new HarnessError('outbox_overflow', 'Too many events are waiting for the server'),
        );
        return;
      }
      session.outbox.set(params.seq, { params, bytes });
      session.outboxBytes += bytes;
    }
    if (this.sessions.get(session.id) === session) {
      this.channel.notify(Methods.sessionEvent, params);
    }
  }

  private status(
    session: SessionState,
    status: 'running' | 'idle' | 'failed',
    error?: ErrorDetail,
    turnId?: string,
  ): void {
    this.emit(
      session,
      {
        type: 'session.status',
        conversation_id: session.id,
        status,
        error: error ?? null,
        response_id: turnId ?? null,
      },
      true,
      turnId ?? null,
    );
  }

  /** Runs queued turns back to back under one `running`, then goes idle (or failed). */
  private async drain(session: SessionState, publishRunning: boolean): Promise<void> {
    if (session.busy) {
      return;
    }
    let failure: ErrorDetail | undefined;
    let first = true;
    while (session.queue.length > 0 && this.sessions.get(session.id) === session) {
      const turn = session.queue.shift() as TurnStartParams;
      if (first && publishRunning) {
        this.status(session, 'running', undefined, turn.turn_id);
      }
      first = false;
      failure = await this.runTurn(session, turn);
    }
    if (this.sessions.get(session.id) === session) {
      this.status(session, failure ? 'failed' : 'idle', failure);
    }
  }

  private model(session: SessionState, turn: TurnStartParams): string {
    const spec = session.init.agent.spec as AgentSpecJson;
    return (
      turn.overrides?.model ??
      session.init.snapshot.model_override ??
      spec.executor?.model ??
      spec.executor?.harness ??
      'echo'
    );
  }

  /**
   * The session's workspace (its own absolute `workspace`, else `<root>/<session id>`), created
   * if missing. Refused, at tool time, when it is or contains a system directory, the root itself
   * or a protected path (workspace-guard.ts).
   */
  private workspace(session: SessionState): { path: string } | { error: string } {
    const rules = {
      root: this.options.workspaceRoot,
      protectedPaths: this.options.sandbox.protectedPaths,
    };
    const requested = session.init.snapshot.workspace;
    const dir =
      requested && isAbsolute(requested) ? requested : join(this.options.workspaceRoot, session.id);
    const planned = realPathOf(dir);
    const refusal = refusalFor(planned, rules, 'the session workspace');
    if (refusal) {
      return { error: refusal };
    }
    try {
      mkdirSync(planned, { recursive: true });
      const real = realpathSync(planned);
      const late = real === planned ? null : refusalFor(real, rules, 'the session workspace');
      return late ? { error: late } : { path: real };
    } catch (error) {
      return { error: `the session workspace cannot be created: ${(error as Error).message}` };
    }
  }

  /** Where this session's tools run, per its `os_env.sandbox` and the runner's settings. */
  private toolSandbox(
    session: SessionState,
  ): { workspace: string; sandbox: ToolSandbox } | { error: string } {
    const spec = session.init.agent.spec as Partial<AgentSpecWire>;
    const { support, required, protectedPaths } = this.options.sandbox;
    const decision = resolveSandbox(spec.os_env?.sandbox, support, required);
    if (decision.kind === 'unavailable') {
      return { error: decision.reason };
    }
    const workspace = this.workspace(session);
    if ('error' in workspace) {
      return workspace;
    }
    if (decision.kind === 'none') {
      return {
        workspace: workspace.path,
        sandbox: new UnsandboxedTools(workspace.path, this.options.env),
      };
    }
    const rules = { root: this.options.workspaceRoot, protectedPaths };
    const writePaths: string[] = [];
    for (const entry of decision.writePaths) {
      const real = realPathOf(resolve(workspace.path, entry));
      if (real.startsWith(`${workspace.path}/`) || !existsSync(real)) {
        continue;
      }
      const refusal = refusalFor(real, rules, 'the os_env.sandbox.write_paths entry');
      if (refusal) {
        return { error: refusal };
      }
      writePaths.push(real);
    }
    return {
      workspace: workspace.path,
      sandbox: new BwrapTools({
        support,
        workspace: workspace.path,
        writePaths,
        hidePaths: protectedPaths.map(realPathOf),
        allowNetwork: decision.allowNetwork,
        env: this.options.env,
      }),
    };
  }

  /** One turn (spec §12.3). Returns the error when it failed. */
  private async runTurn(
    session: SessionState,
    turn: TurnStartParams,
  ): Promise<ErrorDetail | undefined> {
    const turnId = turn.turn_id;
    const spec = session.init.agent.spec as AgentSpecJson;
    const model = this.model(session, turn);
    const createdAt = Math.floor(Date.now() / 1000);
    const abort = new AbortController();
    session.current = { turnId, abort, clientCalls: new Map() };
    const response = (status: string, extra: Record<string, unknown> = {}) => ({
      id: turnId,
      object: 'response',
      status,
      model,
      created_at: createdAt,
      conversation: { id: session.id },
      ...extra,
    });
    const output: FlatItem[] = [];
    const openCalls = new Map<string, string>();
    const usage = { input_tokens: 0, output_tokens: 0 };
    const done = (item: FlatItem) => {
      session.history.push(item);
      output.push(item);
      this.emit(session, { type: 'response.output_item.done', item }, true, turnId);
    };
    if (!session.history.some((item) => item.id === turn.input.item_id)) {
      session.history.push({
        id: turn.input.item_id,
        response_id: turnId,
        type: 'message',
        status: 'completed',
        created_at: createdAt,
        role: 'user',
        content: turn.input.content,
      });
    }
    this.emit(
      session,
      { type: 'response.created', response: response('in_progress') },
      true,
      turnId,
    );
    this.emit(
      session,
      { type: 'response.in_progress', response: response('in_progress') },
      true,
      turnId,
    );
    try {
      await this.ensureHistory(session);
      const harness = createHarness(spec.executor?.harness ?? 'echo');
      if (!harness) {
        throw new HarnessError(
          'harness_not_configured',
          `This runner has no '${spec.executor?.harness}' harness`,
        );
      }
      const { tools, client } = this.tools(spec, turn);
      const maxIterations = spec.max_iterations ?? 20;
      for (let step = 0; ; step++) {
        if (step >= maxIterations) {
          this.emit(
            session,
            {
              type: 'response.incomplete',
              response: response('incomplete', {
                output,
                usage,
                incomplete_details: { reason: 'max_iterations' },
                completed_at: now(),
              }),
            },
            true,
            turnId,
          );
          return undefined;
        }
        const result = await harness.step({
          agent: {
            name: spec.name ?? session.init.agent.name,
            instructions: spec.instructions ?? null,
            executor: spec.executor ?? { harness: 'echo' },
            params: spec.params,
          },
          model: turn.overrides?.model ?? session.init.snapshot.model_override ?? null,
          history: session.history,
          tools,
          signal: abort.signal,
          env: this.options.env,
          onTextDelta: (delta) =>
            this.emit(session, { type: 'response.output_text.delta', delta }, false, turnId),
          onRetry: (retry) =>
            this.emit(
              session,
              {
                type: 'response.retry',
                source: 'llm',
                attempt: retry.attempt,
                max_attempts: retry.maxAttempts,
                delay_seconds: retry.delaySeconds,
                error: retry.error,
              },
              true,
              turnId,
            ),
        });
        usage.input_tokens += result.usage?.input_tokens ?? 0;
        usage.output_tokens += result.usage?.output_tokens ?? 0;
        if (result.text) {
          done({
            id: itemId('msg'),
            response_id: turnId,
            type: 'message',
            status: 'completed',
            created_at: now(),
            role: 'assistant',
            content: [{ type: 'output_text', text: result.text, annotations: [] }],
            model: result.model,
          });
        }
        if (result.toolCalls.length === 0) {
          break;
        }
        for (const call of result.toolCalls) {
          const isClient = client.has(call.name);
          done({
            id: itemId('fc'),
            response_id: turnId,
            type: 'function_call',
            status: isClient ? 'action_required' : 'completed',
            created_at: now(),
            name: call.name,
            arguments: call.arguments,
            call_id: call.callId,
            model: result.model,
          });
          openCalls.set(call.callId, call.name);
          const callOutput = isClient
            ? await this.awaitClientTool(session, call, abort.signal)
            : await this.runTool(session, turnId, call, abort.signal);
          openCalls.delete(call.callId);
          done(toolOutput(turnId, call.callId, callOutput));
        }
      }
      this.emit(
        session,
        {
          type: 'response.completed',
          response: response('completed', {
            output,
            completed_at: now(),
            usage: { ...usage, total_tokens: usage.input_tokens + usage.output_tokens },
          }),
        },
        true,
        turnId,
      );
      return undefined;
    } catch (error) {
      if (abort.signal.aborted && !(abort.signal.reason instanceof HarnessError)) {
        // Interrupted: every call left without an output gets one, so the history stays valid.
        for (const [callId] of openCalls) {
          done(toolOutput(turnId, callId, '[cancelled]'));
        }
        const reason =
          abort.signal.reason instanceof TurnAborted && abort.signal.reason.message === 'stop'
            ? 'stop'
            : 'user_interrupt';
        this.emit(
          session,
          {
            type: 'response.incomplete',
            response: response('incomplete', {
              output,
              completed_at: now(),
              incomplete_details: { reason },
            }),
          },
          true,
          turnId,
        );
        session.queue.splice(0);
        return undefined;
      }
      const cause = abort.signal.reason instanceof HarnessError ? abort.signal.reason : error;
      const detail: ErrorDetail =
        cause instanceof HarnessError
          ? { code: cause.code, message: cause.message }
          : { code: 'runner_error', message: (cause as Error)?.message ?? String(cause) };
      this.options.log(`turn ${turnId} of ${session.id} failed: ${detail.code}: ${detail.message}`);
      this.emit(
        session,
        {
          type: 'response.failed',
          response: response('failed', { output, completed_at: now(), error: detail }),
        },
        true,
        turnId,
      );
      return detail;
    } finally {
      session.current = undefined;
    }
  }

  /** Built-in tools of the spec plus client tools (the spec's and the turn's). */
  private tools(
    spec: AgentSpecJson,
    turn: TurnStartParams,
  ): { tools: ToolDefinition[]; client: Set<string> } {
    const tools: ToolDefinition[] = [];
    const client = new Set<string>();
    for (const entry of spec.tools ?? []) {
      if (entry.runtime === 'client') {
        client.add(entry.name);
        tools.push({
          name: entry.name,
          description: entry.description ?? '',
          parameters: entry.parameters ?? { type: 'object', properties: {} },
        });
      } else {
        const builtin = getBuiltinTool(entry.name);
        if (builtin) {
          tools.push({
            name: builtin.name,
            description: builtin.description,
            parameters: builtin.parameters,
          });
        }
      }
    }
    for (const extra of turn.client_tools ?? []) {
      if (!tools.some((t) => t.name === extra.name)) {
        client.add(extra.name);
        tools.push({
          name: extra.name,
          description: extra.description ?? '',
          parameters: extra.parameters ?? { type: 'object', properties: {} },
        });
      }
    }
    return { tools, client };
  }

  /** A built-in tool call, authorised by the server first (fails closed). */
  private async runTool(
    session: SessionState,
    turnId: string,
    call: HarnessToolCall,
    signal: AbortSignal,
  ): Promise<string> {
    const tool = getBuiltinTool(call.name);
    const spec = session.init.agent.spec as AgentSpecJson;
    if (!tool || !(spec.tools ?? []).some((t) => t.name === call.name && t.runtime === 'server')) {
      return `Error: the tool '${call.name}' is not available to this agent`;
    }
    let args: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(call.arguments || '{}');
      args =
        parsed && typeof parsed === 'object' && !Array.isArray(parsed)
          ? (parsed as Record<string, unknown>)
          : {};
    } catch {
      return `Error: the arguments of ${call.name} are not valid JSON`;
    }
    if (session.init.policy.tool_call) {
      let verdict: ToolAuthorizeResult;
      try {
        verdict = await this.channel.request<ToolAuthorizeResult>(
          Methods.toolAuthorize,
          {
            session_id: session.id,
            turn_id: turnId,
            call_id: call.callId,
            name: call.name,
            arguments: args,
          },
          Timeouts.toolAuthorizeMs,
        );
      } catch (error) {
        return `Error: the tool call could not be authorised (${(error as Error).message}); it was not run`;
      }
      if (verdict.decision === 'deny') {
        return verdict.output ?? `[Denied by policy: ${verdict.reason}]`;
      }
      if (verdict.decision === 'ask') {
        return 'Error: this tool call needs an approval this runner cannot wait for yet; it was not run';
      }
      args = verdict.arguments ?? args;
    }
    if (signal.aborted) {
      throw signal.reason;
    }
    const place = this.toolSandbox(session);
    if ('error' in place) {
      return `Error: ${place.error}; the tool was not run`;
    }
    try {
      const output = await tool.execute(args, {
        workspace: place.workspace,
        sandbox: place.sandbox,
        signal,
        onOutputDelta: (delta) =>
          this.emit(
            session,
            { type: 'response.function_call_output.delta', call_id: call.callId, delta },
            false,
            turnId,
          ),
      });
      // NUL cannot be stored (PostgreSQL text and jsonb refuse it): a file read past the binary
      // sniff could still carry one.
      return output.replace(/\0/g, '\uFFFD');
    } catch (error) {
      if (signal.aborted) {
        throw error;
      }
      return `Error: ${call.name} failed: ${(error as Error).message}`;
    }
  }

  /** A client-side tool: the client runs it and posts `function_call_output`. */
  private awaitClientTool(
    session: SessionState,
    call: HarnessToolCall,
    signal: AbortSignal,
  ): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(`Error: no result from the client for ${call.name} in time`),
        CLIENT_TOOL_WAIT_MS,
      );
      const onAbort = () => {
        clearTimeout(timer);
        session.current?.clientCalls.delete(call.callId);
        reject(signal.reason);
      };
      const finish = (output: string) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        session.current?.clientCalls.delete(call.callId);
        resolve(output);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      session.current?.clientCalls.set(call.callId, { resolve: finish });
    });
  }

  /** Fetches the rest of a long history before the first turn needs it. */
  private async ensureHistory(session: SessionState): Promise<void> {
    if (session.historyComplete) {
      return;
    }
    const items: FlatItem[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.channel.request<SessionHistoryResult>(
        Methods.sessionHistory,
        { session_id: session.id, after, limit: 1000 },
        Timeouts.sessionInitMs,
      );
      items.push(...page.items);
      if (!page.has_more || page.items.length === 0) {
        break;
      }
      after = page.items[page.items.length - 1].id;
    }
    const known = new Set(items.map((i) => i.id));
    session.history = [...items, ...session.history.filter((i) => !known.has(i.id))];
    session.historyComplete = true;
  }
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function toolOutput(turnId: string, callId: string, output: string): FlatItem {
  return {
    id: itemId('fco'),
    response_id: turnId,
    type: 'function_call_output',
    status: 'completed',
    created_at: now(),
    call_id: callId,
    output,
  };
}
