import { Injectable, Logger } from '@nestjs/common';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { flattenItem } from 'src/protocol/items';
import { RpcError } from 'src/protocol/json-rpc';
import {
  ClientToolResultParams,
  Methods,
  PolicyFlags,
  RunnerErrorCode,
  SessionCloseParams,
  SessionInitParams,
  SessionInitResult,
  Timeouts,
  TurnCancelParams,
  TurnStartParams,
  TurnStartResult,
} from 'src/protocol/runner-protocol';
import { AgentsService } from 'src/modules/registry/agents.service';
import { RunnerRpcService, RunnerTarget } from 'src/modules/runners/runner-rpc.service';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { EventAckResponseDto } from 'src/modules/sessions/dto/session-response.dto';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionError } from 'src/modules/sessions/sessions.errors';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';

/** History inlined in `session.init`; the runner pages through the rest with `session.history`. */
const INIT_HISTORY_LIMIT = 1000;

/**
 * Server → runner calls about sessions (spec/runner-protocol.md §5): init, turns, cancels,
 * client-tool results, close. Best-effort calls log instead of failing the request that caused
 * them (a PATCH binding still answers 200 if the init fails: the first message retries it).
 */
@Injectable()
export class RunnerLinkService {
  private readonly logger = new Logger('RunnerLink');

  constructor(
    private readonly agents: AgentsService,
    private readonly items: ItemsRepository,
    private readonly policyHooks: TurnPolicyHooks,
    private readonly rpc: RunnerRpcService,
    private readonly sessions: SessionsRepository,
  ) {}

  /** The session's runner is connected here, and it is its owner's (see RunnerRpcService). */
  isReachable(session: SessionEntity): boolean {
    return this.rpc.isServing(session);
  }

  async buildInit(session: SessionEntity): Promise<SessionInitParams> {
    const [agent, items, fresh] = await Promise.all([
      this.agents.getById(session.agentId),
      this.items.listAll(session.id, INIT_HISTORY_LIMIT + 1),
      this.sessions.getById(session.id),
    ]);
    if (!agent) {
      throw SessionError.invalid('The session has no agent');
    }
    const current = fresh ?? session;
    return {
      session_id: session.id,
      agent: { id: agent.id, name: agent.name, version: agent.version, spec: agent.spec },
      snapshot: {
        workspace: current.workspace,
        labels: current.labels,
        model_override: current.modelOverride,
        reasoning_effort: current.reasoningEffort,
        parent_session_id: current.parentSessionId,
      },
      history: items.slice(-INIT_HISTORY_LIMIT).map(flattenItem),
      history_truncated: items.length > INIT_HISTORY_LIMIT,
      next_seq: current.eventSeq + 1,
      policy: await this.policyFlags(current),
    };
  }

  private async policyFlags(session: SessionEntity): Promise<PolicyFlags> {
    return (
      (await this.policyHooks.get()?.flags(session)) ?? { tool_call: false, tool_result: false }
    );
  }

  /**
   * The session's policies changed: its runner learns the new flags before the change is
   * answered, so a tool call right after attaching a policy is authorised. A runner that is
   * not reachable gets them with its next session.init.
   */
  async policiesChanged(session: SessionEntity): Promise<void> {
    if (!this.isReachable(session)) {
      return;
    }
    try {
      await this.rpc.call(
        session,
        Methods.sessionUpdate,
        { session_id: session.id, policy: await this.policyFlags(session) },
        Timeouts.sessionInitMs,
      );
    } catch (error) {
      this.logger.warn(`session.update of ${session.id} failed: ${(error as Error).message}`);
    }
  }

  async init(session: SessionEntity): Promise<SessionInitResult> {
    return this.rpc.call<SessionInitResult>(
      session,
      Methods.sessionInit,
      await this.buildInit(session),
      Timeouts.sessionInitMs,
    );
  }

  initInBackground(session: SessionEntity): void {
    if (!this.isReachable(session)) {
      return;
    }
    this.init(session).catch((error: Error) =>
      this.logger.warn(
        `session.init of ${session.id} on ${session.runnerId} failed: ${error.message}`,
      ),
    );
  }

  /** After a PATCH runner_id: the old runner lets go, the new one (if any) is initialised. */
  rebound(previousRunnerId: string | null, session: SessionEntity): void {
    if (previousRunnerId && previousRunnerId !== session.runnerId) {
      this.closeOn(
        { runnerId: previousRunnerId, ownerId: session.ownerId },
        { session_id: session.id, reason: 'rebound' },
      );
    }
    if (session.runnerId) {
      this.initInBackground(session);
    }
  }

  snapshotChanged(session: SessionEntity): void {
    if (!this.isReachable(session)) {
      return;
    }
    this.rpc
      .call(
        session,
        Methods.sessionUpdate,
        {
          session_id: session.id,
          snapshot: {
            model_override: session.modelOverride,
            reasoning_effort: session.reasoningEffort,
          },
        },
        Timeouts.sessionInitMs,
      )
      .catch((error: Error) =>
        this.logger.warn(`session.update of ${session.id} failed: ${error.message}`),
      );
  }

  closed(session: SessionEntity, reason: SessionCloseParams['reason']): void {
    this.closeOn(session, { session_id: session.id, reason });
  }

  /** Marks the turn as handed to the session's current connection before it is recorded as running. */
  noteTurn(session: SessionEntity, turnId: string): void {
    this.rpc.noteTurn(session, turnId);
  }

  /** `turn.start`; a runner that no longer knows the session is initialised and asked again once. */
  async startTurn(session: SessionEntity, params: TurnStartParams): Promise<TurnStartResult> {
    params = { ...params, policy: await this.policyFlags(session) };
    try {
      return await this.rpc.call<TurnStartResult>(
        session,
        Methods.turnStart,
        params,
        Timeouts.turnStartMs,
      );
    } catch (error) {
      if (!(error instanceof RpcError) || error.dataCode !== RunnerErrorCode.SessionUnknown) {
        throw error;
      }
      await this.init(session);
      return this.rpc.call<TurnStartResult>(
        session,
        Methods.turnStart,
        params,
        Timeouts.turnStartMs,
      );
    }
  }

  async cancelTurn(session: SessionEntity, params: TurnCancelParams): Promise<boolean> {
    if (!this.isReachable(session)) {
      return false;
    }
    try {
      const result = await this.rpc.call<{ cancelled: boolean }>(
        session,
        Methods.turnCancel,
        params,
        Timeouts.turnCancelMs,
      );
      return Boolean(result?.cancelled);
    } catch (error) {
      this.logger.warn(`turn.cancel of ${session.id} failed: ${(error as Error).message}`);
      return false;
    }
  }

  /** A client-side tool's output (`function_call_output`), for the runner waiting on it. */
  async deliverToolOutput(
    session: SessionEntity,
    data: Record<string, unknown>,
  ): Promise<EventAckResponseDto> {
    if (!this.isReachable(session)) {
      throw SessionError.runnerUnavailable('No runner connected for session');
    }
    const params: ClientToolResultParams = {
      session_id: session.id,
      call_id: data.call_id as string,
      output: data.output as string,
    };
    const result = await this.rpc.call<{ delivered: boolean }>(
      session,
      Methods.clientToolResult,
      params,
      Timeouts.clientToolResultMs,
    );
    if (!result?.delivered) {
      throw new DomainError(
        ErrorCode.Conflict,
        `No client tool call '${params.call_id}' is waiting for output`,
      );
    }
    return { queued: true, item_id: params.call_id };
  }

  /** `retry_session`: the connected runner is initialised again. */
  async reinit(session: SessionEntity): Promise<EventAckResponseDto> {
    if (!this.isReachable(session)) {
      throw SessionError.runnerUnavailable('No runner connected for session; start or bind one');
    }
    await this.init(session);
    return { queued: false, recovered: true, recovery: 'already_connected' };
  }

  private closeOn(target: RunnerTarget, params: SessionCloseParams): void {
    if (!this.rpc.isServing(target)) {
      return;
    }
    this.rpc
      .call(target, Methods.sessionClose, params, Timeouts.sessionCloseMs)
      .catch((error: Error) =>
        this.logger.warn(`session.close of ${params.session_id} failed: ${error.message}`),
      );
  }
}
