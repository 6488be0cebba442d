import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';

import { Cursor, keysetPage, PageRequest } from 'src/common/pagination/pagination';
import { SessionFileEntity } from 'src/modules/files/session-file.entity';

export type NewSessionFile = Omit<SessionFileEntity, 'createdAt'>;

@Injectable()
export class FilesRepository {
  constructor(
    @InjectRepository(SessionFileEntity) private readonly files: Repository<SessionFileEntity>,
  ) {}

  getById(sessionId: string, id: string): Promise<SessionFileEntity | null> {
    return this.files.findOneBy({ id, sessionId });
  }

  getManyByIds(sessionId: string, ids: string[]): Promise<SessionFileEntity[]> {
    return this.files.findBy({ sessionId, id: In(ids) });
  }

  /** Inserts rows in one transaction: all of them or none. */
  async insertAll(rows: NewSessionFile[]): Promise<SessionFileEntity[]> {
    return this.files.manager.transaction(async (manager) => {
      const repo = manager.getRepository(SessionFileEntity);
      await repo.insert(rows);
      return repo.findBy({ id: In(rows.map((row) => row.id)) });
    });
  }

  /** Deletes a row; false when it was already gone. */
  async delete(sessionId: string, id: string): Promise<boolean> {
    const result = await this.files.delete({ id, sessionId });
    return (result.affected ?? 0) > 0;
  }

  async deleteByIds(ids: string[]): Promise<void> {
    if (ids.length > 0) {
      await this.files.delete({ id: In(ids) });
    }
  }

  /** A page of a session's files by creation time (spec/api-reference.md §15.1). */
  async page(
    sessionId: string,
    page: PageRequest,
  ): Promise<{ rows: SessionFileEntity[]; hasMore: boolean }> {
    const cursorId = page.after ?? page.before;
    let cursor: Cursor | undefined;
    if (cursorId) {
      const row = await this.files.findOneBy({ id: cursorId, sessionId });
      if (!row) {
        // A cursor that names no file of this session: nothing lies beyond it.
        return { rows: [], hasMore: false };
      }
      cursor = {
        id: row.id,
        sortSql: 'SELECT c.created_at FROM session_files c WHERE c.id = :cursorId',
      };
    }
    const qb = this.files.createQueryBuilder('f').where('f.sessionId = :sessionId', { sessionId });
    return keysetPage(qb, {
      sortColumn: 'f.createdAt',
      idColumn: 'f.id',
      page,
      cursor,
      cursorIsBefore: !page.after && Boolean(page.before),
    });
  }
}
