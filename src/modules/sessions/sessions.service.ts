import { Inject, Injectable, Logger } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, newId, normalizeId } from 'src/common/ids/ids';
import { ListEnvelope, listEnvelope, pageRequest } from 'src/common/pagination/pagination';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { AgentsService } from 'src/modules/registry/agents.service';
import {
  SessionAgentResponseDto,
  toSessionAgentResponse,
} from 'src/modules/registry/dto/agent-response.dto';
import { LaunchRunnerDto } from 'src/modules/hosts/dto/host-request.dto';
import { LaunchRunnerResponseDto } from 'src/modules/hosts/dto/host-response.dto';
import { HostEntity } from 'src/modules/hosts/host.entity';
import { HostsService } from 'src/modules/hosts/hosts.service';
import { RunnersService } from 'src/modules/runners/runners.service';
import type { CreateSessionBody } from 'src/modules/sessions/dto/create-session-body.decorator';
import {
  CreateSessionDto,
  CreateSessionMetadataDto,
  DeleteSessionQueryDto,
  ForkSessionDto,
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
    private readonly policyHooks: TurnPolicyHooks,
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
    const placement = await this.placement(auth, dto.parent_session_id, host);
    const session = this.withinQuota(
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
    return host ? this.launchOnHost(session, host, dto.workspace as string) : session;
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
    const placement = await this.placement(auth, metadata.parent_session_id, host);
    const agent = this.agents.sessionAgent(prepared, placement.id, auth.userId);
    const session = this.withinQuota(
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
      await this.launchOnHost(session, host, metadata.workspace as string);
    }
    return { session_id: session.id, agent_id: session.agentId, agent_name: prepared.spec.name };
  }

  /**
   * Launches the new session's runner on its host. As upstream, a failed launch does not fail
   * the create: the session stays unbound and the failure is reported on it (`failed`, with the
   * error as `last_error`).
   */
  private async launchOnHost(
    session: SessionEntity,
    host: HostEntity,
    workspace: string,
  ): Promise<SessionEntity> {
    try {
      const runnerId = await this.hostLaunch.launch(session, host, workspace, {
        expected: null,
        alreadyBound: ErrorCode.Conflict,
      });
      return { ...session, runnerId, hostId: host.hostId, workspace } as SessionEntity;
    } catch (error) {
      if (!(error instanceof DomainError)) {
        throw error;
      }
      await this.sessions.update(session.id, { hostId: host.hostId, workspace });
      await this.turns.fail(session.id, null, { code: error.code, message: error.message });
      return session;
    }
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

  /**
   * `POST /v1/hosts/{id}/runners`: launches a runner for one of the caller's sessions on one of
   * the caller's hosts (404 for either when it is not theirs). A session already bound is 400.
   */
  async launchOnHostRoute(
    auth: AuthPrincipal,
    hostId: string,
    dto: LaunchRunnerDto,
  ): Promise<LaunchRunnerResponseDto> {
    const host = await this.hostLaunch.hostFor(auth.userId, hostId);
    const sessionId = normalizeId(IdPrefix.Session, dto.session_id);
    if (!sessionId) {
      throw new DomainError(ErrorCode.NotFound, 'session not found');
    }
    const session = await this.access.require(auth, sessionId, SessionLevel.Owner);
    checkWorkspace(dto.workspace);
    if (dto.git) {
      throw SessionError.invalid('git worktrees are not supported by this server yet');
    }
    const runnerId = await this.hostLaunch.launch(session, host, dto.workspace, {
      expected: null,
      alreadyBound: ErrorCode.InvalidInput,
    });
    return { runner_id: runnerId, status: 'launching' };
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
    const [online, pending] = await Promise.all([
      this.runners.onlineAmong(
        page.rows.map((r) => r.session.runnerId).filter((id): id is string => id !== null),
      ),
      this.childSummaries.pendingElicitationCounts(ids),
    ]);
    const data = page.rows.map((r) =>
      toSessionListItem(
        r.session,
        r.agentName,
        this.access.displayLevel(auth, r.session),
        r.session.runnerId !== null && online.has(r.session.runnerId),
        pending.get(r.session.id) ?? 0,
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

  async fork(
    auth: AuthPrincipal,
    sourceId: string,
    dto: ForkSessionDto,
  ): Promise<SessionResponseDto> {
    const source = await this.access.require(auth, sourceId, SessionLevel.Read);
    let upTo: number | null = null;
    if (dto.up_to_response_id) {
      upTo = await this.items.lastPositionOfResponse(source.id, dto.up_to_response_id);
      if (upTo === null) {
        throw SessionError.invalid(
          `up_to_response_id '${dto.up_to_response_id}' is not a response of this session`,
        );
      }
    }
    const { agentId, clone } = await this.agents.agentForFork(source.agentId, dto.agent_id);
    const id = newId(IdPrefix.Session);
    const fork = this.withinQuota(
      await this.sessions.fork(
        {
          id,
          ownerId: auth.userId,
          agentId,
          title: dto.title ?? `Fork of ${source.title ?? 'untitled session'}`,
          labels: source.labels,
          kind: 'default',
          workspace: source.workspace,
          modelOverride: source.modelOverride,
          reasoningEffort: source.reasoningEffort,
          costControlModeOverride: source.costControlModeOverride,
          subagentRoutingOverride: source.subagentRoutingOverride,
        },
        { sessionId: source.id, upToPosition: upTo, cloneAgent: clone },
        this.config.quotas.sessionsPerUser,
      ),
    );
    this.logger.log(`Session ${source.id} forked into ${id} by ${auth.userId}`);
    return this.snapshot(auth, fork);
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

  /** The session just created, or 429 when its owner had no room left (repository: null). */
  private withinQuota(session: SessionEntity | null): SessionEntity {
    if (!session) {
      throw SessionError.quota(
        `Session quota reached: a user may own at most ${this.config.quotas.sessionsPerUser} sessions; delete some first`,
      );
    }
    return session;
  }

  private async canUse(auth: AuthPrincipal, sessionId: string): Promise<boolean> {
    const session = await this.sessions.getById(sessionId);
    return Boolean(session && this.access.levelOf(auth, session) !== null);
  }

  /**
   * Where a new session sits: its id and owner, its parent (a sub-agent session inherits the
   * parent's runner and root, when that runner is the new owner's), else the caller's only
   * online runner.
   */
  private async placement(
    auth: AuthPrincipal,
    parentSessionId: string | null | undefined,
    host: HostEntity | null = null,
  ): Promise<
    Pick<
      SessionEntity,
      'id' | 'ownerId' | 'kind' | 'parentSessionId' | 'rootSessionId' | 'runnerId'
    >
  > {
    const parent = parentSessionId ? await this.requireParent(auth, parentSessionId) : null;
    return {
      id: newId(IdPrefix.Session),
      ownerId: auth.userId,
      kind: parent ? 'sub_agent' : 'default',
      parentSessionId: parent?.id ?? null,
      rootSessionId: parent ? (parent.rootSessionId ?? parent.id) : null,
      // A session on a host gets the runner its host launches, nothing else.
      runnerId: host
        ? null
        : parent
          ? await this.runners.inheritable(parent.runnerId, auth.userId)
          : await this.runners.defaultFor(auth.userId),
    };
  }

  private async requireParent(
    auth: AuthPrincipal,
    parentSessionId: string,
  ): Promise<SessionEntity> {
    const parentId = normalizeId(IdPrefix.Session, parentSessionId);
    if (!parentId) {
      throw new DomainError(ErrorCode.NotFound, `Session ${parentSessionId} does not exist`);
    }
    return this.access.require(auth, parentId, SessionLevel.Edit);
  }
}
