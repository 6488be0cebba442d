import { Inject, Injectable, Logger } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { IdPrefix, newId } from 'src/common/ids/ids';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { AgentsService } from 'src/modules/registry/agents.service';
import { ForkSessionDto } from 'src/modules/sessions/dto/session-request.dto';
import { SessionResponseDto } from 'src/modules/sessions/dto/session-response.dto';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { SessionError } from 'src/modules/sessions/sessions.errors';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionsService } from 'src/modules/sessions/sessions.service';

/** `POST /v1/sessions/{id}/fork`, and the forks of a response chain (`previous_response_id`). */
@Injectable()
export class SessionForkService {
  private readonly logger = new Logger('Sessions');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: SessionAccessService,
    private readonly agents: AgentsService,
    private readonly items: ItemsRepository,
    private readonly quotas: SessionQuotasService,
    private readonly sessions: SessionsRepository,
    private readonly snapshots: SessionsService,
  ) {}

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
    const fork = this.quotas.checkCreated(
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
    return this.snapshots.snapshot(auth, fork);
  }
}
