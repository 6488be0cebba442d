import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, Not, Repository } from 'typeorm';

import {
  ElicitationEntity,
  ElicitationResolution,
  ElicitationStatus,
} from 'src/modules/policies/elicitation.entity';

type NewElicitation = Omit<
  ElicitationEntity,
  'createdAt' | 'status' | 'resolvedAt' | 'resolvedBy' | 'resolution' | 'deliveredAt'
>;

@Injectable()
export class ElicitationsRepository {
  constructor(
    @InjectRepository(ElicitationEntity) private readonly rows: Repository<ElicitationEntity>,
  ) {}

  async insert(row: NewElicitation): Promise<ElicitationEntity> {
    await this.rows.insert({ ...row, status: 'pending' } as never);
    return this.rows.findOneByOrFail({ id: row.id });
  }

  getForSession(sessionId: string, id: string): Promise<ElicitationEntity | null> {
    return this.rows.findOneBy({ id, sessionId });
  }

  listPending(sessionId: string): Promise<ElicitationEntity[]> {
    return this.rows.find({
      where: { sessionId, status: 'pending' },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }

  /**
   * Moves a pending elicitation to `status` (compare-and-set on `status = 'pending'`): the row
   * when this call decided it, null when it was already decided (or is not this session's).
   */
  async resolve(
    sessionId: string,
    id: string,
    status: Exclude<ElicitationStatus, 'pending'>,
    resolution: ElicitationResolution,
    resolvedBy: string | null,
  ): Promise<ElicitationEntity | null> {
    const result = await this.rows
      .createQueryBuilder()
      .update()
      .set({ status, resolution: resolution as never, resolvedBy, resolvedAt: () => 'now()' })
      .where(`id = :id AND session_id = :sessionId AND status = 'pending'`, { id, sessionId })
      .returning('*')
      .execute();
    const raw = (result.raw as Record<string, unknown>[])[0];
    return raw ? this.rows.findOneBy({ id }) : null;
  }

  /** Pending elicitations past their deadline, oldest first. */
  listDue(now: Date, limit: number): Promise<ElicitationEntity[]> {
    return this.rows
      .createQueryBuilder('e')
      .where(`e.status = 'pending' AND e.expires_at <= :now`, { now })
      .orderBy('e.expires_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Pending tool-call elicitations of a session (of one turn when given). */
  listPendingOfTurn(sessionId: string, turnId: string | null): Promise<ElicitationEntity[]> {
    return this.rows.find({
      where: {
        sessionId,
        status: 'pending',
        turnId: turnId ?? Not(IsNull()),
      },
    });
  }

  async markDelivered(id: string): Promise<void> {
    await this.rows.update({ id }, { deliveredAt: new Date() });
  }

  /** Decided but not delivered to the runner: among `ids`, those resolved while it was away. */
  listUndelivered(ids: string[]): Promise<ElicitationEntity[]> {
    if (ids.length === 0) {
      return Promise.resolve([]);
    }
    return this.rows.find({
      where: { id: In(ids), status: Not('pending'), deliveredAt: IsNull() },
    });
  }

  /** Pending elicitations of every session (the `pending_approvals` gauge, read per scrape). */
  countPending(): Promise<number> {
    return this.rows.countBy({ status: 'pending' });
  }
}
