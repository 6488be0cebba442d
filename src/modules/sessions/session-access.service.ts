import { Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';

/** Permission levels (spec/auth.md §2.4). */
export enum SessionLevel {
  Read = 1,
  Edit = 2,
  Manage = 3,
  Owner = 4,
}

/**
 * The one place session access is decided (spec/auth.md §5.5). Today a session belongs to its
 * creator: the owner and admins have every level, anyone else gets a 404 indistinguishable from
 * a missing session. Grants (sharing) would slot in here and produce 403s for too-low levels.
 */
@Injectable()
export class SessionAccessService {
  constructor(private readonly sessions: SessionsRepository) {}

  /** The level shown as `permission_level`: null in local mode, where permissions are off. */
  displayLevel(principal: AuthPrincipal, session: Pick<SessionEntity, 'ownerId'>): number | null {
    return principal.kind === 'local' ? null : this.levelOf(principal, session);
  }

  levelOf(principal: AuthPrincipal, session: Pick<SessionEntity, 'ownerId'>): number | null {
    if (principal.isAdmin || session.ownerId === principal.userId) {
      return SessionLevel.Owner;
    }
    return null;
  }

  /** Loads the session and checks the caller's level: 404 without access, 403 when too low. */
  async require(
    principal: AuthPrincipal,
    sessionId: string,
    level: SessionLevel,
  ): Promise<SessionEntity> {
    return this.check(principal, sessionId, await this.sessions.getById(sessionId), level);
  }

  /**
   * `require`, and how many items the session holds, read by the same statement (a posted
   * message checks the item quota once access is granted).
   */
  async requireWithItemCount(
    principal: AuthPrincipal,
    sessionId: string,
    level: SessionLevel,
  ): Promise<{ session: SessionEntity; itemCount: number }> {
    const found = await this.sessions.getWithItemCount(sessionId);
    return {
      session: this.check(principal, sessionId, found?.session ?? null, level),
      itemCount: found?.itemCount ?? 0,
    };
  }

  /**
   * The same check on a session (or just its owner) the caller read itself, e.g. in the same
   * statement as the data it answers with (null: it does not exist).
   */
  check<T extends Pick<SessionEntity, 'ownerId'>>(
    principal: AuthPrincipal,
    sessionId: string,
    session: T | null,
    level: SessionLevel,
  ): T {
    const granted = session ? this.levelOf(principal, session) : null;
    if (!session || granted === null) {
      throw new DomainError(ErrorCode.NotFound, `Session ${sessionId} does not exist`);
    }
    if (granted < level) {
      throw new DomainError(
        ErrorCode.Forbidden,
        `'${principal.userId}' needs ${SessionLevel[level].toLowerCase()} permission on session '${sessionId}'`,
      );
    }
    return session;
  }
}
