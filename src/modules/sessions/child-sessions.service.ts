import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { stringify } from 'yaml';

import { IdPrefix, newId } from 'src/common/ids/ids';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { AgentSpecWire, AgentSubAgentToolWire } from 'src/protocol/agent-spec';
import { RpcError } from 'src/protocol/json-rpc';
import {
  RUNNER_RPC_ERROR,
  RunnerErrorCode,
  SessionCreateChildParams,
  SessionCreateChildResult,
} from 'src/protocol/runner-protocol';
import { childAgentSpec, subAgentTool } from 'src/protocol/sub-agent-spec';
import { AgentsService } from 'src/modules/registry/agents.service';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnerChildSessionsHandler, RunnerHooks } from 'src/modules/runners/runner-hooks';
import { ItemsRepository, NewItem } from 'src/modules/sessions/items.repository';
import {
  ChildSessionSummaryDto,
  toChildSessionSummary,
} from 'src/modules/sessions/dto/session-response.dto';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';

/** `pass_history` reads the parent's latest items, this many (its messages among them are copied). */
const PASSED_HISTORY_ITEMS = 1_000;
/** The task's first line, this long at most, names the child (`{tool}:{session_name}`). */
const SESSION_NAME_LENGTH = 80;

function refusal(code: RunnerErrorCode, message: string): RpcError {
  return new RpcError(RUNNER_RPC_ERROR[code], message, { code });
}

/**
 * `session.create_child` (spec/runner-protocol.md §5, docs/AGENT-SPEC.md "Sub-agents"): a
 * sub-agent tool call becomes a real child session. The parent must be served by the asking
 * runner (so its owner's); the child's agent is derived here from the parent's stored spec, never
 * taken from the runner; `max_sessions` is counted in the database, per parent and tool.
 */
@Injectable()
export class ChildSessionsService implements RunnerChildSessionsHandler, OnModuleInit {
  private readonly logger = new Logger('ChildSessions');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly agents: AgentsService,
    private readonly hooks: RunnerHooks,
    private readonly items: ItemsRepository,
    private readonly runnerLink: RunnerLinkService,
    private readonly sessions: SessionsRepository,
    private readonly stream: SessionEventsService,
    private readonly turns: TurnsService,
  ) {}

  onModuleInit(): void {
    this.hooks.registerChildren(this);
  }

  async onCreateChild(
    connection: RunnerConnection,
    params: SessionCreateChildParams,
  ): Promise<SessionCreateChildResult> {
    const parent =
      typeof params?.parent_session_id === 'string'
        ? await this.sessions.getById(params.parent_session_id)
        : null;
    if (
      !parent ||
      parent.runnerId !== connection.runnerId ||
      parent.ownerId !== connection.ownerId
    ) {
      throw refusal(
        RunnerErrorCode.SessionUnknown,
        `Session ${params?.parent_session_id} is not bound to this runner`,
      );
    }
    const parentAgent = await this.agents.getById(parent.agentId);
    const parentSpec = (parentAgent?.spec ?? {}) as Partial<AgentSpecWire>;
    const tool = subAgentTool(parentSpec, String(params.tool));
    if (!tool) {
      throw refusal(
        RunnerErrorCode.NoSuchSubAgent,
        `The agent of session ${parent.id} has no sub-agent tool '${params.tool}'`,
      );
    }
    const task = typeof params.input === 'string' ? params.input : '';
    const { child, agentName } = await this.create(parent, parentSpec, tool, task);
    const summary: Partial<ChildSessionSummaryDto> = toChildSessionSummary(
      child,
      agentName,
      null,
      0,
    );
    // The rail has the child (idle, full summary) before its first turn's deltas (ChildRailService).
    await this.stream.locked(parent.id, async (s) => {
      s.emit('session.created', {
        child_session_id: child.id,
        parent_session_id: parent.id,
        agent_id: child.agentId,
      });
      s.emit('session.child_session.updated', {
        child_session_id: child.id,
        child: summary,
      });
    });
    const turnId = newId(IdPrefix.Response);
    const itemId = newId(IdPrefix.Message);
    await this.turns.startChildTurn(child, turnId, {
      itemId,
      data: { role: 'user', content: [{ type: 'input_text', text: task }] },
    });
    this.logger.log(
      `Session ${child.id} created for sub-agent ${tool.name} of ${parent.id} (call ${String(params.call_id).slice(0, 80)})`,
    );
    return {
      session_id: child.id,
      turn_id: turnId,
      item_id: itemId,
      init: await this.runnerLink.buildInit(child),
    };
  }

  private async create(
    parent: SessionEntity,
    parentSpec: Partial<AgentSpecWire>,
    tool: AgentSubAgentToolWire,
    task: string,
  ): Promise<{ child: SessionEntity; agentName: string }> {
    const id = newId(IdPrefix.Session);
    const agentId = newId(IdPrefix.Agent);
    const spec = childAgentSpec(parentSpec, tool);
    const name = task.split('\n', 1)[0].trim().slice(0, SESSION_NAME_LENGTH) || 'task';
    const created = await this.sessions.createChild(
      {
        id,
        ownerId: parent.ownerId,
        kind: 'sub_agent',
        parentSessionId: parent.id,
        rootSessionId: parent.rootSessionId ?? parent.id,
        runnerId: parent.runnerId,
        hostId: parent.hostId,
        workspace: parent.workspace,
        agentId,
        title: `${tool.name}:${name}`,
        subAgentName: tool.name,
        labels: {},
      },
      { maxPerOwner: this.config.quotas.sessionsPerUser, maxSiblings: tool.max_sessions },
      {
        id: agentId,
        name: spec.name,
        description: spec.description,
        harness: spec.executor.harness,
        spec,
        yaml: stringify(spec),
        builtin: false,
        ownerSessionId: id,
        ownerId: parent.ownerId,
      },
      tool.pass_history ? await this.passedHistory(parent.id) : [],
    );
    if (created === 'max_sessions') {
      throw refusal(
        RunnerErrorCode.MaxSessionsReached,
        `The sub-agent ${tool.name} may create at most ${tool.max_sessions} session(s) per parent session`,
      );
    }
    if (created === 'quota') {
      throw refusal(
        RunnerErrorCode.SessionQuota,
        `Session quota reached: a user may own at most ${this.config.quotas.sessionsPerUser} sessions`,
      );
    }
    return { child: created, agentName: spec.name };
  }

  /** The parent's recent conversation for `pass_history`: its messages, without tool calls. */
  private async passedHistory(parentId: string): Promise<NewItem[]> {
    const page = await this.items.page(parentId, { limit: PASSED_HISTORY_ITEMS, order: 'desc' });
    return (page?.rows ?? [])
      .reverse()
      .filter((item) => item.type === 'message')
      .map((item) => ({
        id: newId(IdPrefix.Message),
        response_id: 'seed',
        type: 'message',
        status: 'completed',
        created_by: item.created_by,
        data: item.data,
      }));
  }
}
