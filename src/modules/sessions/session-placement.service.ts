import { Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, newId, normalizeId } from 'src/common/ids/ids';
import { LaunchRunnerDto } from 'src/modules/hosts/dto/host-request.dto';
import { LaunchRunnerResponseDto } from 'src/modules/hosts/dto/host-response.dto';
import { HostEntity } from 'src/modules/hosts/host.entity';
import { RunnersService } from 'src/modules/runners/runners.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { checkWorkspace } from 'src/modules/sessions/session-rules';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionError } from 'src/modules/sessions/sessions.errors';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { HostLaunchService } from 'src/modules/sessions/turns/host-launch.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';

/** Where a new session sits: the columns `placement` fills in before the create stores it. */
export type SessionPlacement = Pick<
  SessionEntity,
  'id' | 'ownerId' | 'kind' | 'parentSessionId' | 'rootSessionId' | 'runnerId'
>;

/** Runner and host placement of sessions: a new session's runner, and launches on hosts. */
@Injectable()
export class SessionPlacementService {
  constructor(
    private readonly access: SessionAccessService,
    private readonly hostLaunch: HostLaunchService,
    private readonly runners: RunnersService,
    private readonly sessions: SessionsRepository,
    private readonly turns: TurnsService,
  ) {}

  /**
   * Launches the new session's runner on its host. As upstream, a failed launch does not fail
   * the create: the session stays unbound and the failure is reported on it (`failed`, with the
   * error as `last_error`).
   */
  async launchOnHost(
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

  /**
   * Where a new session sits: its id and owner, its parent (a sub-agent session inherits the
   * parent's runner and root, when that runner is the new owner's), else the caller's only
   * online runner.
   */
  async placement(
    auth: AuthPrincipal,
    parentSessionId: string | null | undefined,
    host: HostEntity | null = null,
  ): Promise<SessionPlacement> {
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
