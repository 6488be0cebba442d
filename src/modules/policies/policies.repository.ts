import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Not, QueryFailedError, Repository } from 'typeorm';

import { PolicyEntity } from 'src/modules/policies/policy.entity';
import { SessionEntity } from 'src/modules/sessions/session.entity';

/** `id` null = the session's policies, else a default's lookup key. */
export type PolicyScope = { scope: 'session'; sessionId: string } | { scope: 'default' };

const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof QueryFailedError &&
    (error.driverError as { code?: string } | undefined)?.code === UNIQUE_VIOLATION
  );
}

@Injectable()
export class PoliciesRepository {
  constructor(
    @InjectRepository(PolicyEntity) private readonly policies: Repository<PolicyEntity>,
  ) {}

  private where(scope: PolicyScope) {
    return scope.scope === 'session'
      ? { scope: 'session' as const, sessionId: scope.sessionId }
      : { scope: 'default' as const };
  }

  /** Oldest first (upstream's evaluation order). */
  list(scope: PolicyScope, onlyEnabled = false): Promise<PolicyEntity[]> {
    return this.policies.find({
      where: { ...this.where(scope), ...(onlyEnabled ? { enabled: true } : {}) },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }

  /**
   * Sessions in the middle of a turn on a runner (a policy change is pushed to them): all, or the
   * sub-agent sessions of one root.
   */
  sessionsRunningTurns(rootSessionId?: string): Promise<SessionEntity[]> {
    return this.policies.manager.getRepository(SessionEntity).find({
      where: {
        currentTurnId: Not(IsNull()),
        runnerId: Not(IsNull()),
        ...(rootSessionId ? { rootSessionId } : {}),
      },
    });
  }

  getById(scope: PolicyScope, id: string): Promise<PolicyEntity | null> {
    return this.policies.findOneBy({ ...this.where(scope), id });
  }

  /** The stored row, or null when the name is taken in its scope. */
  async insert(row: Omit<PolicyEntity, 'createdAt' | 'updatedAt'>): Promise<PolicyEntity | null> {
    try {
      // jsonb columns: TypeORM's deep-partial type does not accept Record<string, unknown>.
      await this.policies.insert(row as never);
    } catch (error) {
      if (isUniqueViolation(error)) {
        return null;
      }
      throw error;
    }
    return this.policies.findOneByOrFail({ id: row.id });
  }

  /** The updated row; null when the new name is taken; undefined when the row is gone. */
  async update(
    scope: PolicyScope,
    id: string,
    fields: Partial<Pick<PolicyEntity, 'name' | 'handler' | 'enabled'>>,
  ): Promise<PolicyEntity | null | undefined> {
    try {
      const result = await this.policies.update(
        { ...this.where(scope), id },
        { ...fields, updatedAt: new Date() },
      );
      if (!result.affected) {
        return undefined;
      }
    } catch (error) {
      if (isUniqueViolation(error)) {
        return null;
      }
      throw error;
    }
    return this.policies.findOneBy({ id });
  }

  async delete(scope: PolicyScope, id: string): Promise<void> {
    await this.policies.delete({ ...this.where(scope), id });
  }
}
