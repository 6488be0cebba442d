import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';

import { Cursor, keysetPage, PageRequest } from 'src/common/pagination/pagination';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { WalPositions } from 'src/database/wal-flush-watch.util';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import { AgentsRepository, NewAgent } from 'src/modules/registry/agents.repository';
import { ItemEntity } from 'src/modules/sessions/item.entity';
import { ItemsRepository, NewItem } from 'src/modules/sessions/items.repository';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import {
  sessionColumns,
  sessionFromRow,
  sessionListSql,
} from 'src/modules/sessions/session-list.util';
import { LockedWork, SessionUnits, UnitOptions } from 'src/modules/sessions/session-units';

export type { LockedWork, UnitOptions } from 'src/modules/sessions/session-units';

export interface SessionListFilters {
  ownerId: string;
  sortBy: 'created_at' | 'updated_at';
  agentId?: string;
  agentName?: string;
  /** Words that must all match (by prefix) the title or a message of the session. */
  search?: string;
  includeArchived: boolean;
  kind: 'default' | 'sub_agent' | 'any';
}

/** Writable columns (relations excluded). */
export type SessionFields = Partial<Omit<SessionEntity, 'agent'>>;

export interface SessionRow {
  session: SessionEntity;
  agentName: string | null;
}

@Injectable()
export class SessionsRepository {
  private readonly units: SessionUnits;

  constructor(
    @InjectRepository(SessionEntity) private readonly sessions: Repository<SessionEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.units = new SessionUnits(
      dataSource,
      sessions.metadata,
      config.database.preparedStatements,
    );
  }

  /**
   * Runs `work` in one transaction, for this layer's own units of work (and tests of its
   * building blocks). Inside it, use only the given manager (pool of 1: stack.md §3.2). Services
   * use the intent-named methods below instead (style rule 7).
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /**
   * The unit of work of every turn-state change: locks the session row, runs `work`, then writes
   * its patch, items and durable stream events in the same transaction. Returns null (without
   * calling `work`) when the session does not exist; the caller publishes `events` after commit.
   * Optimistic units skip the lock (`UnitOptions.optimistic`, `SessionUnits`).
   */
  withLockedSession<T>(
    id: string,
    work: (session: LockedSession) => Promise<T>,
    options: UnitOptions = {},
  ): Promise<LockedWork<T> | null> {
    return this.units.run(id, work, options);
  }

  /** PostgreSQL's WAL insert and flush positions, and which run of the server (WalFlushWatch). */
  async walPositions(): Promise<WalPositions> {
    const [row] = (await this.dataSource.query(
      `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text AS insert,
              pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::text AS flush,
              concat_ws('/', pg_postmaster_start_time(),
                (SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter')) AS incarnation`,
    )) as { insert: string; flush: string; incarnation: string }[];
    return { insert: BigInt(row.insert), flush: BigInt(row.flush), incarnation: row.incarnation };
  }

  /**
   * A new session, with the session-scoped agent it runs on when one is given, in one
   * transaction; null when its owner already owns `maxPerOwner` sessions.
   */
  createWithAgent(
    session: SessionFields & { ownerId: string },
    maxPerOwner: number,
    agent?: NewAgent,
  ): Promise<SessionEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      if (!(await this.hasRoomFor(manager, session.ownerId, maxPerOwner))) {
        return null;
      }
      if (agent) {
        await this.agentsIn(manager).insertWith(manager, agent);
      }
      return this.insert(manager, session);
    });
  }

  /**
   * A sub-agent's child session (`session.create_child`) with its session-scoped agent and its
   * seed items, in one transaction, unless its owner is at `maxPerOwner` sessions (`quota`) or
   * the parent already has `maxSiblings` children of this sub-agent (`max_sessions`; a
   * per-parent advisory lock makes the count and the insert one step).
   */
  createChild(
    session: SessionFields & { id: string; ownerId: string; parentSessionId: string },
    limits: { maxPerOwner: number; maxSiblings: number | null },
    agent: NewAgent,
    seeds: NewItem[],
  ): Promise<SessionEntity | 'quota' | 'max_sessions'> {
    return this.dataSource.transaction(async (manager) => {
      if (limits.maxSiblings !== null) {
        await manager.query(
          `SELECT pg_advisory_xact_lock(hashtext('omnigent.sub_agents'), hashtext($1))`,
          [session.parentSessionId],
        );
        const rows: { n: number }[] = await manager.query(
          `SELECT count(*)::int AS n FROM sessions WHERE parent_session_id = $1 AND sub_agent_name = $2`,
          [session.parentSessionId, session.subAgentName],
        );
        if (rows[0].n >= limits.maxSiblings) {
          return 'max_sessions';
        }
      }
      if (!(await this.hasRoomFor(manager, session.ownerId, limits.maxPerOwner))) {
        return 'quota';
      }
      await this.agentsIn(manager).insertWith(manager, agent);
      const created = await this.insert(manager, session);
      if (seeds.length > 0) {
        await new ItemsRepository(manager.getRepository(ItemEntity)).upsert(
          manager,
          session.id,
          seeds,
        );
      }
      return created;
    });
  }

  /**
   * A fork: the new session, a copy of the source's items (up to a position), and when asked a
   * copy of the source's session-scoped agent under the fork's `agentId`, in one transaction;
   * null when its owner already owns `maxPerOwner` sessions.
   */
  fork(
    session: SessionFields & { id: string; agentId: string; ownerId: string },
    from: { sessionId: string; upToPosition: number | null; cloneAgent?: AgentEntity },
    maxPerOwner: number,
  ): Promise<SessionEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      if (!(await this.hasRoomFor(manager, session.ownerId, maxPerOwner))) {
        return null;
      }
      if (from.cloneAgent) {
        await this.agentsIn(manager).cloneWith(
          manager,
          from.cloneAgent,
          session.agentId,
          session.id,
          session.ownerId,
        );
      }
      const created = await this.insert(manager, session);
      await new ItemsRepository(manager.getRepository(ItemEntity)).copy(
        manager,
        from.sessionId,
        session.id,
        from.upToPosition,
      );
      return created;
    });
  }

  /**
   * Deletes a session with its sub-agent sessions (items and event logs go by cascade) and the
   * session-scoped agents no other session runs on. Returns the sessions deleted.
   */
  deleteTree(id: string): Promise<SessionEntity[]> {
    return this.dataSource.transaction(async (manager) => {
      const ids = await this.treeIds(manager, id);
      const tree = await this.getManyWith(manager, ids);
      await this.deleteMany(manager, ids);
      await this.agentsIn(manager).deleteOwnedBy(manager, ids);
      return tree;
    });
  }

  /**
   * Whether `ownerId` owns fewer than `max` sessions. Takes a per-owner advisory lock held to the
   * end of the transaction, so concurrent creates of one user cannot overshoot the quota.
   */
  private async hasRoomFor(manager: EntityManager, ownerId: string, max: number): Promise<boolean> {
    await manager.query(
      `SELECT pg_advisory_xact_lock(hashtext('omnigent.sessions'), hashtext($1))`,
      [ownerId],
    );
    const rows: { n: number }[] = await manager.query(
      `SELECT count(*)::int AS n FROM sessions WHERE owner_id = $1`,
      [ownerId],
    );
    return rows[0].n < max;
  }

  private agentsIn(manager: EntityManager): AgentsRepository {
    return new AgentsRepository(manager.getRepository(AgentEntity));
  }

  /** One raw statement mapped by the entity's columns (the query builder's cost, issue 12). */
  async getById(
    id: string,
    manager: EntityManager = this.sessions.manager,
  ): Promise<SessionEntity | null> {
    const rows: Record<string, unknown>[] = await manager.query(
      'SELECT * FROM sessions WHERE id = $1',
      [id],
    );
    return rows.length === 0
      ? null
      : sessionFromRow(sessionColumns(this.sessions.metadata), rows[0]);
  }

  /**
   * The session and how many items it holds, in one statement (a posted message's access check
   * and item quota: one round trip, one pooled connection); null when it does not exist.
   */
  async getWithItemCount(
    id: string,
  ): Promise<{ session: SessionEntity; itemCount: number } | null> {
    const rows: Record<string, unknown>[] = await this.sessions.manager.query(
      `SELECT s.*, (SELECT count(*)::int FROM items i WHERE i.session_id = s.id) AS item_count__
       FROM sessions s WHERE s.id = $1`,
      [id],
    );
    return rows.length === 0
      ? null
      : {
          session: sessionFromRow(sessionColumns(this.sessions.metadata), rows[0]),
          itemCount: rows[0].item_count__ as number,
        };
  }

  /** Inserts a new session (an id that exists already is an error, never an update). */
  async insert(manager: EntityManager, session: SessionFields): Promise<SessionEntity> {
    const repo = manager.getRepository(SessionEntity);
    const { identifiers } = await repo.insert(session);
    // Read back: every column as stored, defaults and nulls included.
    return repo.findOneByOrFail({ id: identifiers[0].id as string });
  }

  async update(
    id: string,
    fields: SessionFields,
    manager: EntityManager = this.sessions.manager,
  ): Promise<void> {
    await manager.getRepository(SessionEntity).update({ id }, fields as never);
  }

  async list(
    filters: SessionListFilters,
    page: PageRequest,
  ): Promise<{ rows: SessionRow[]; hasMore: boolean } | null> {
    const { sql, params, backwards } = sessionListSql(filters, page);
    const raw: Record<string, unknown>[] = await this.sessions.query(sql, params);
    const cursorId = page.after ?? page.before;
    if (
      cursorId &&
      raw.length === 0 &&
      !(await this.sessions.existsBy({ id: cursorId, ownerId: filters.ownerId }))
    ) {
      return null;
    }
    const rows = raw.slice(0, page.limit).map((row) => ({
      session: sessionFromRow(sessionColumns(this.sessions.metadata), row),
      agentName: (row.agent_name__ as string | null) ?? null,
    }));
    return { rows: backwards ? rows.reverse() : rows, hasMore: raw.length > page.limit };
  }

  async listChildren(
    parentId: string,
    page: PageRequest,
    title?: string,
  ): Promise<{ rows: SessionRow[]; hasMore: boolean } | null> {
    const cursorId = page.after ?? page.before;
    let cursor: Cursor | undefined;
    if (cursorId) {
      const row = await this.sessions.findOneBy({ id: cursorId, parentSessionId: parentId });
      if (!row) {
        return null;
      }
      cursor = {
        id: row.id,
        sortSql: 'SELECT c.created_at FROM sessions c WHERE c.id = :cursorId',
      };
    }
    const qb = this.sessions
      .createQueryBuilder('s')
      .leftJoin('s.agent', 'a')
      .addSelect(['a.id', 'a.name'])
      .where('s.parentSessionId = :parentId', { parentId });
    if (title !== undefined) {
      qb.andWhere('s.title = :title', { title });
    }
    const { rows, hasMore } = await keysetPage(qb, {
      sortColumn: 's.createdAt',
      idColumn: 's.id',
      page,
      cursor,
      cursorIsBefore: !page.after && Boolean(page.before),
    });
    return { rows: rows.map((s) => ({ session: s, agentName: s.agent?.name ?? null })), hasMore };
  }

  /** The session and all its descendants (sub-agent children), deepest last. */
  async treeIds(manager: EntityManager, id: string): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      `WITH RECURSIVE tree(id) AS (
         SELECT id FROM sessions WHERE id = $1
         UNION ALL
         SELECT s.id FROM sessions s JOIN tree t ON s.parent_session_id = t.id
       ) SELECT id FROM tree`,
      [id],
    );
    return rows.map((r) => r.id);
  }

  /** Deletes sessions; items, event logs and children go with them (ON DELETE CASCADE). */
  async deleteMany(manager: EntityManager, ids: string[]): Promise<void> {
    if (ids.length > 0) {
      await manager.getRepository(SessionEntity).delete(ids);
    }
  }

  /**
   * Sessions bound to a runner that are mid-turn (running or waiting); with `ownerId`, only
   * that owner's (the ones the runner may serve).
   */
  listBusyOnRunner(runnerId: string, ownerId?: string): Promise<SessionEntity[]> {
    const qb = this.sessions
      .createQueryBuilder('s')
      .where('s.runnerId = :runnerId', { runnerId })
      .andWhere(`s.liveStatus IN ('running', 'waiting')`);
    if (ownerId !== undefined) {
      qb.andWhere('s.ownerId = :ownerId', { ownerId });
    }
    return qb.getMany();
  }

  /** The sub-agent sessions of `parentId` that are running a turn. */
  listBusyChildren(parentId: string): Promise<SessionEntity[]> {
    return this.sessions
      .createQueryBuilder('s')
      .where('s.parentSessionId = :parentId', { parentId })
      .andWhere(`s.liveStatus IN ('running', 'waiting')`)
      .getMany();
  }

  getMany(ids: string[]): Promise<SessionEntity[]> {
    return this.getManyWith(this.sessions.manager, ids);
  }

  getManyWith(manager: EntityManager, ids: string[]): Promise<SessionEntity[]> {
    return ids.length === 0
      ? Promise.resolve([])
      : manager
          .getRepository(SessionEntity)
          .createQueryBuilder('s')
          .where('s.id IN (:...ids)', { ids })
          .getMany();
  }

  /**
   * Binds a host-launched runner (spec/runner-protocol.md F3): only while the session is still
   * bound to `expected` (null: unbound), so two launches never both win. Returns whether it did.
   */
  async bindHostRunner(
    id: string,
    expected: string | null,
    binding: { runnerId: string; hostId: string; workspace: string },
  ): Promise<boolean> {
    const result = await this.sessions
      .createQueryBuilder()
      .update(SessionEntity)
      .set({ runnerId: binding.runnerId, hostId: binding.hostId, workspace: binding.workspace })
      .where('id = :id', { id })
      .andWhere(expected === null ? 'runner_id IS NULL' : 'runner_id = :expected', { expected })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /** Rolls a failed launch back: the session is unbound again if it is still bound to it. */
  async unbindRunner(id: string, runnerId: string): Promise<void> {
    await this.sessions
      .createQueryBuilder()
      .update(SessionEntity)
      .set({ runnerId: null })
      .where('id = :id AND runner_id = :runnerId', { id, runnerId })
      .execute();
  }

  /** Sessions bound to this runner id. */
  listByRunner(runnerId: string): Promise<SessionEntity[]> {
    return this.sessions.findBy({ runnerId });
  }

  /** Of these runner ids, those a session of the host is bound to. */
  async boundRunnersOfHost(hostId: string, runnerIds: string[]): Promise<string[]> {
    if (runnerIds.length === 0) {
      return [];
    }
    const rows = await this.sessions
      .createQueryBuilder('s')
      .select('DISTINCT s.runnerId', 'runner_id')
      .where('s.hostId = :hostId', { hostId })
      .andWhere('s.runnerId IN (:...runnerIds)', { runnerIds })
      .getRawMany<{ runner_id: string }>();
    return rows.map((r) => r.runner_id);
  }
}
