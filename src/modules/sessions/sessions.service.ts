import { Inject, Injectable, Logger } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, normalizeId } from 'src/common/ids/ids';
import { ListEnvelope, listEnvelope, pageRequest } from 'src/common/pagination/pagination';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { AgentsService } from 'src/modules/registry/agents.service';
import {
  SessionAgentResponseDto,
  toSessionAgentResponse,
} from 'src/modules/registry/dto/agent-response.dto';
import { HostsService } from 'src/modules/hosts/hosts.service';
import { RunnersService } from 'src/modules/runners/runners.service';
import type { CreateSessionBody } from 'src/modules/sessions/dto/create-session-body.decorator';
import {
  CreateSessionDto,
  CreateSessionMetadataDto,
  DeleteSessionQueryDto,
  GetSessionQueryDto,
  ListChildSessionsQueryDto,
  ListSessionsQueryDto,
  SessionEventInputDto,
  UpdateSessionDto,
} from 'src/modules/sessions/dto/session-request.dto';
import {
  ChildSessionSummaryDto,
  CreatedSessionResponseDto,
  SessionDeletedResponseDto,
  SessionListItemDto,
  SessionResponseDto,
  toSessionListItem,
  toSessionResponse,
} from 'src/modules/sessions/dto/session-response.dto';
import { ChildSummariesService } from 'src/modules/sessions/child-summaries.service';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { SessionHooks } from 'src/modules/sessions/session-hooks';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionPlacementService } from 'src/modules/sessions/session-placement.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import {
  checkCreateSupported,
  checkHostPlacement,
  checkInitialItems,
  checkLabels,
  checkModelOverride,
  checkReasoningEffort,
  checkTerminalLaunchArgs,
  checkWorkspace,
  sessionUpdate,
  splitInitialItems,
} from 'src/modules/sessions/session-rules';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { sessionListFilters } from 'src/modules/sessions/session-list.util';
import { SessionError } from 'src/modules/sessions/sessions.errors';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { HostLaunchService } from 'src/modules/sessions/turns/host-launch.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';

/** What `/health` reports per session. */
export interface SessionLiveness {
  runnerOnline: boolean;
  /** null when the session is not on a host. */
  hostOnline: boolean | null;
  /** The version the session's host daemon reported, when it is on a host. */
  hostVersion: string | null;
}

/** Items returned in a snapshot; longer histories are read page by page from `…/items`. */
export const SNAPSHOT_ITEM_LIMIT = 10_000;

const SNIPPET_LENGTH = 200;

@Injectable()
export class SessionsService {
  private readonly logger = new Logger('Sessions');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: SessionAccessService,
    private readonly agents: AgentsService,
    private readonly childSummaries: ChildSummariesService,
    private readonly events: SessionEventsService,
    private readonly hostLaunch: HostLaunchService,
    private readonly hosts: HostsService,
    private readonly items: ItemsRepository,
    private readonly placement: SessionPlacementService,
    private readonly policyHooks: TurnPolicyHooks,
    private readonly quotas: SessionQuotasService,
    private readonly runnerLink: RunnerLinkService,
    private readonly runners: RunnersService,
    private readonly sessionHooks: SessionHooks,
    private readonly sessions: SessionsRepository,
    private readonly turns: TurnsService,
  ) {}

  /** `POST /v1/sessions`: on an agent (JSON), or on an uploaded bundle (multipart). */
  async create(
    auth: AuthPrincipal,
    body: CreateSessionBody,
  ): Promise<SessionResponseDto | CreatedSessionResponseDto> {
    if (body.kind === 'bundle') {
      return this.createFromBundle(auth, body.metadata, body.bundle);
    }
    const initial = body.dto.initial_items ?? [];
    checkInitialItems(initial);
    const session = await this.createOnAgent(auth, body.dto);
    await this.addInitialItems(auth, session, initial);
    return this.get(auth, session.id);
  }

  private async createOnAgent(auth: AuthPrincipal, dto: CreateSessionDto): Promise<SessionEntity> {
    checkCreateSupported(dto);
    checkLabels(dto.labels);
    checkWorkspace(dto.workspace);
    checkTerminalLaunchArgs(dto.terminal_launch_args);
    const modelOverride = checkModelOverride(dto.model_override, false) ?? null;
    const reasoningEffort = checkReasoningEffort(dto.reasoning_effort, false) ?? null;
    const agentId = normalizeId(IdPrefix.Agent, dto.agent_id);
    if (!agentId) {
      throw new DomainError(ErrorCode.NotFound, `Agent not found: '${dto.agent_id}'`);
    }
    const agent = await this.agents.getUsable(agentId, (sid) => this.canUse(auth, sid));
    const host = dto.host_id ? await this.hostLaunch.hostFor(auth.userId, dto.host_id) : null;
    const placement = await this.placement.placement(auth, dto.parent_session_id, host);
    const session = this.quotas.checkCreated(
      await this.sessions.createWithAgent(
        {
          ...placement,
          agentId: agent.id,
          title: dto.title ?? null,
          labels: dto.labels ?? {},
          subAgentName: dto.sub_agent_name ?? null,
          workspace: dto.workspace ?? null,
          modelOverride,
          reasoningEffort,
          costControlModeOverride: dto.cost_control_mode_override ?? null,
          subagentRoutingOverride: dto.subagent_routing_override ?? null,
          terminalLaunchArgs: dto.terminal_launch_args ?? null,
        },
        this.config.quotas.sessionsPerUser,
      ),
    );
    this.created(auth, session, `on agent ${agent.name}`);
    return host ? this.placement.launchOnHost(session, host, dto.workspace as string) : session;
  }

  /** The bundle becomes a session-scoped agent of the new session. */
  private async createFromBundle(
    auth: AuthPrincipal,
    metadata: CreateSessionMetadataDto,
    bundle: Buffer,
  ): Promise<CreatedSessionResponseDto> {
    checkLabels(metadata.labels);
    checkWorkspace(metadata.workspace);
    checkTerminalLaunchArgs(metadata.terminal_launch_args);
    try {
      checkHostPlacement(metadata.host_id, metadata.workspace);
    } catch (error) {
      throw SessionError.invalid(`invalid session metadata: ${(error as Error).message}`);
    }
    const reasoningEffort = checkReasoningEffort(metadata.reasoning_effort, false) ?? null;
    const prepared = await this.agents.prepareBundle(bundle);
    const host = metadata.host_id
      ? await this.hostLaunch.hostFor(auth.userId, metadata.host_id)
      : null;
    const placement = await this.placement.placement(auth, metadata.parent_session_id, host);
    const agent = this.agents.sessionAgent(prepared, placement.id, auth.userId);
    const session = this.quotas.checkCreated(
      await this.sessions.createWithAgent(
        {
          ...placement,
          agentId: agent.id,
          title: metadata.title ?? null,
          labels: metadata.labels ?? {},
          workspace: metadata.workspace ?? null,
          reasoningEffort,
          terminalLaunchArgs: metadata.terminal_launch_args ?? null,
        },
        this.config.quotas.sessionsPerUser,
        agent,
      ),
    );
    this.created(auth, session, `from an uploaded bundle (agent ${prepared.spec.name})`);
    if (host) {
      await this.placement.launchOnHost(session, host, metadata.workspace as string);
    }
    return { session_id: session.id, agent_id: session.agentId, agent_name: prepared.spec.name };
  }

  private created(auth: AuthPrincipal, session: SessionEntity, how: string): void {
    const runner = session.runnerId ? ` (runner ${session.runnerId})` : '';
    this.logger.log(`Session ${session.id} created ${how} by ${auth.userId}${runner}`);
    if (session.runnerId) {
      this.runnerLink.initInBackground(session);
    }
  }

  /**
   * With a connected runner, user messages are posted like `POST …/events` (each starts or
   * queues a turn); every other item is stored as history with response id `seed`.
   */
  private async addInitialItems(
    auth: AuthPrincipal,
    session: SessionEntity,
    items: SessionEventInputDto[],
  ): Promise<void> {
    const { messages, seeds } = splitInitialItems(items, this.runnerLink.isReachable(session));
    for (const message of messages) {
      await this.turns.post(auth, session.id, message);
    }
    if (seeds.length > 0) {
      await this.items.insertMany(session.id, seeds);
    }
  }

  async list(
    auth: AuthPrincipal,
    query: ListSessionsQueryDto,
  ): Promise<ListEnvelope<SessionListItemDto>> {
    const filters = sessionListFilters(auth.userId, query);
    if (!filters) {
      // A malformed id matches no session.
      return listEnvelope<SessionListItemDto>([], false, (s) => s.id);
    }
    const search = filters.search;
    const page = await this.sessions.list(filters, pageRequest(query));
    if (!page) {
      throw SessionError.invalid('Unknown pagination cursor');
    }
    const ids = page.rows.map((r) => r.session.id);
    const snippets = search
      ? await this.items.searchSnippets(ids, search)
      : new Map<string, string>();
    const online = await this.runners.onlineAmong(
      page.rows.map((r) => r.session.runnerId).filter((id): id is string => id !== null),
    );
    const data = page.rows.map((r) =>
      toSessionListItem(
        r.session,
        r.agentName,
        this.access.displayLevel(auth, r.session),
        r.session.runnerId !== null && online.has(r.session.runnerId),
        snippets.get(r.session.id)?.slice(0, SNIPPET_LENGTH),
      ),
    );
    return listEnvelope(data, page.hasMore, (s) => s.id);
  }

  async get(
    auth: AuthPrincipal,
    id: string,
    query: GetSessionQueryDto = {},
  ): Promise<SessionResponseDto> {
    const session = await this.access.require(auth, id, SessionLevel.Read);
    return this.snapshot(auth, session, query);
  }

  async snapshot(
    auth: AuthPrincipal,
    session: SessionEntity,
    query: GetSessionQueryDto = {},
  ): Promise<SessionResponseDto> {
    const [agent, items, runnerOnline, pending] = await Promise.all([
      this.agents.getById(session.agentId),
      query.include_items === false
        ? Promise.resolve([])
        : this.items.listAll(session.id, SNAPSHOT_ITEM_LIMIT),
      query.include_liveness === false
        ? Promise.resolve(null)
        : this.runners.isOnline(session.runnerId),
      this.policyHooks.get()?.pendingElicitations(session.id) ?? [],
    ]);
    const hostOnline =
      query.include_liveness === false || !session.hostId
        ? null
        : (await this.hosts.onlineAmong([session.hostId])).has(session.hostId);
    return toSessionResponse(
      session,
      agent,
      items,
      { runnerOnline, hostOnline },
      this.access.displayLevel(auth, session),
      pending,
    );
  }

  async update(
    auth: AuthPrincipal,
    id: string,
    dto: UpdateSessionDto,
  ): Promise<SessionResponseDto> {
    const owner =
      dto.archived !== undefined || (dto.runner_id !== undefined && dto.runner_id !== null);
    const session = await this.access.require(
      auth,
      id,
      owner ? SessionLevel.Owner : SessionLevel.Edit,
    );
    const fields = sessionUpdate(session, dto);
    if (dto.runner_id !== undefined && dto.runner_id !== null) {
      fields.runnerId = await this.runners.bindingFor(session.ownerId, dto.runner_id);
    }
    if (Object.keys(fields).length > 0) {
      await this.sessions.update(id, fields);
    }
    const updated = { ...session, ...fields } as SessionEntity;
    if (fields.runnerId !== undefined) {
      this.runnerLink.rebound(session.runnerId, updated);
    } else if (
      !dto.silent &&
      (fields.modelOverride !== undefined || fields.reasoningEffort !== undefined)
    ) {
      this.runnerLink.snapshotChanged(updated);
    }
    return this.get(auth, id);
  }

  async delete(
    auth: AuthPrincipal,
    id: string,
    _query: DeleteSessionQueryDto = {},
  ): Promise<SessionDeletedResponseDto> {
    await this.access.require(auth, id, SessionLevel.Owner);
    const removed = await this.sessions.deleteTree(id);
    for (const gone of removed) {
      this.events.closeStreams(gone.id);
      this.runnerLink.closed(gone, 'deleted');
    }
    await this.sessionHooks.deleted(removed.map((gone) => gone.id));
    this.logger.log(
      `Session ${id} deleted by ${auth.userId} (${removed.length} session(s) with children)`,
    );
    return { id, object: 'conversation.deleted', deleted: true };
  }

  async listChildren(
    auth: AuthPrincipal,
    id: string,
    query: ListChildSessionsQueryDto,
  ): Promise<ListEnvelope<ChildSessionSummaryDto>> {
    await this.access.require(auth, id, SessionLevel.Read);
    const title =
      query.tool !== undefined && query.session_name !== undefined
        ? `${query.tool}:${query.session_name}`
        : undefined;
    const page = await this.childSummaries.page(id, pageRequest(query), title);
    if (!page) {
      throw SessionError.invalid('Unknown pagination cursor');
    }
    return listEnvelope(page.data, page.hasMore, (c) => c.id);
  }

  async getAgent(auth: AuthPrincipal, id: string): Promise<SessionAgentResponseDto> {
    const session = await this.access.require(auth, id, SessionLevel.Read);
    const agent = await this.agents.getById(session.agentId);
    if (!agent) {
      throw new DomainError(ErrorCode.NotFound, 'Agent not found');
    }
    return toSessionAgentResponse(agent);
  }

  /** Runner and host liveness per session for `/health`, only for sessions `auth` may read. */
  async liveness(auth: AuthPrincipal, ids: string[]): Promise<Map<string, SessionLiveness>> {
    const sessions = (await this.sessions.getMany(ids)).filter(
      (s) => this.access.levelOf(auth, s) !== null,
    );
    const online = await this.runners.onlineAmong(
      sessions.map((s) => s.runnerId).filter((r): r is string => Boolean(r)),
    );
    const hostIds = sessions.map((s) => s.hostId).filter((h): h is string => Boolean(h));
    const hosts = hostIds.length > 0 ? await this.hosts.livenessOf(hostIds) : new Map();
    return new Map(
      sessions.map((s) => {
        const host = s.hostId ? hosts.get(s.hostId) : undefined;
        return [
          s.id,
          {
            runnerOnline: Boolean(s.runnerId && online.has(s.runnerId)),
            hostOnline: s.hostId ? Boolean(host?.online) : null,
            hostVersion: host?.version ?? null,
          },
        ];
      }),
    );
  }

  private async canUse(auth: AuthPrincipal, sessionId: string): Promise<boolean> {
    const session = await this.sessions.getById(sessionId);
    return Boolean(session && this.access.levelOf(auth, session) !== null);
  }
}
