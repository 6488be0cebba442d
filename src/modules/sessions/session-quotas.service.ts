import { Inject, Injectable } from '@nestjs/common';

import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionError } from 'src/modules/sessions/sessions.errors';

/**
 * The per-session and per-user quotas. Sessions per user are counted in a create's own
 * transaction (SessionsRepository.createWithAgent / fork), the rest here. Each refusal is 429
 * `quota_exceeded`; the limits are `config.quotas` (docs/SECURITY.md "Limits").
 */
@Injectable()
export class SessionQuotasService {
  /** Open streams per user on this process. */
  private readonly streams = new Map<string, number>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** The session just created, or 429 when its owner had no room left (repository: null). */
  checkCreated(session: SessionEntity | null): SessionEntity {
    if (!session) {
      throw SessionError.quota(
        `Session quota reached: a user may own at most ${this.config.quotas.sessionsPerUser} sessions; delete some first`,
      );
    }
    return session;
  }

  /**
   * 429 when the session holds its quota of items already (`itemCount`, read with the access
   * check: `SessionAccessService.requireWithItemCount`): new messages and stored items are
   * refused; a turn that is running completes.
   */
  checkItems(itemCount: number): void {
    const max = this.config.quotas.itemsPerSession;
    if (itemCount >= max) {
      throw SessionError.quota(
        `Item quota reached: a session may hold at most ${max} items; fork it or start a new session`,
      );
    }
  }

  /**
   * Counts one more open stream of `userId` (429 at the quota); the returned function gives the
   * slot back and may be called more than once.
   */
  openStream(userId: string): () => void {
    const max = this.config.quotas.streamsPerUser;
    const open = this.streams.get(userId) ?? 0;
    if (open >= max) {
      throw SessionError.quota(
        `Stream quota reached: a user may hold at most ${max} open session streams; close some first`,
      );
    }
    this.streams.set(userId, open + 1);
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      const left = (this.streams.get(userId) ?? 1) - 1;
      if (left > 0) {
        this.streams.set(userId, left);
      } else {
        this.streams.delete(userId);
      }
    };
  }

  /** Open streams of `userId` on this process. */
  openStreams(userId: string): number {
    return this.streams.get(userId) ?? 0;
  }
}
