import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';

import { Cursor, keysetPage, PageRequest } from 'src/common/pagination/pagination';
import { AgentEntity } from 'src/modules/registry/agent.entity';

@Injectable()
export class AgentsRepository {
  constructor(@InjectRepository(AgentEntity) private readonly agents: Repository<AgentEntity>) {}

  getById(id: string): Promise<AgentEntity | null> {
    return this.agents.findOneBy({ id });
  }

  /** The original bundle of an uploaded agent (not loaded by default: it can be large). */
  async getBundle(
    id: string,
    manager: EntityManager = this.agents.manager,
  ): Promise<Buffer | null> {
    const row = await manager
      .getRepository(AgentEntity)
      .createQueryBuilder('a')
      .addSelect('a.bundle')
      .where('a.id = :id', { id })
      .getOne();
    return row?.bundle ?? null;
  }

  /** Inserts or refreshes a built-in agent; the version goes up when its YAML changed. */
  async upsertBuiltin(
    agent: Pick<AgentEntity, 'id' | 'name' | 'description' | 'harness' | 'spec' | 'yaml'>,
  ): Promise<void> {
    await this.agents.query(
      `INSERT INTO agents (id, name, description, harness, spec, yaml, builtin)
       VALUES ($1, $2, $3, $4, $5, $6, true)
       ON CONFLICT (id) DO UPDATE SET
         name = EXCLUDED.name, description = EXCLUDED.description, harness = EXCLUDED.harness,
         spec = EXCLUDED.spec,
         version = agents.version + CASE WHEN agents.yaml = EXCLUDED.yaml THEN 0 ELSE 1 END,
         updated_at = CASE WHEN agents.yaml = EXCLUDED.yaml THEN agents.updated_at ELSE now() END,
         yaml = EXCLUDED.yaml`,
      [
        agent.id,
        agent.name,
        agent.description,
        agent.harness,
        JSON.stringify(agent.spec),
        agent.yaml,
      ],
    );
  }

  /** The catalog: built-in/registered agents, never session-scoped ones. */
  async listCatalog(page: PageRequest): Promise<{ rows: AgentEntity[]; hasMore: boolean } | null> {
    const cursorId = page.after ?? page.before;
    let cursor: Cursor | undefined;
    if (cursorId) {
      const row = await this.agents.findOneBy({ id: cursorId });
      if (!row || row.ownerSessionId) {
        return null;
      }
      cursor = { id: row.id, sortSql: 'SELECT c.created_at FROM agents c WHERE c.id = :cursorId' };
    }
    const qb = this.agents.createQueryBuilder('a').where('a.ownerSessionId IS NULL');
    return keysetPage(qb, {
      sortColumn: 'a.createdAt',
      idColumn: 'a.id',
      page,
      cursor,
      cursorIsBefore: !page.after && Boolean(page.before),
    });
  }

  findByName(name: string): Promise<AgentEntity | null> {
    return this.agents.findOneBy({ name, builtin: true });
  }

  /** Inside a caller's transaction: stores an agent created from an uploaded bundle. */
  insertWith(manager: EntityManager, agent: Partial<AgentEntity>): Promise<AgentEntity> {
    return manager
      .getRepository(AgentEntity)
      .save(manager.getRepository(AgentEntity).create(agent));
  }

  /** Inside a caller's transaction: a copy of a session-scoped agent for a fork. */
  async cloneWith(
    manager: EntityManager,
    source: AgentEntity,
    newId: string,
    ownerSessionId: string,
    ownerId: string,
  ): Promise<AgentEntity> {
    const bundle = await this.getBundle(source.id, manager);
    return this.insertWith(manager, {
      id: newId,
      name: source.name,
      version: source.version,
      description: source.description,
      harness: source.harness,
      spec: source.spec,
      yaml: source.yaml,
      bundle,
      builtin: false,
      ownerSessionId,
      ownerId,
    });
  }

  /**
   * Deletes the session-scoped agents of deleted sessions, except those another session still
   * runs on (a session may be created on another session's agent); those stay until unused.
   */
  async deleteOwnedBy(manager: EntityManager, sessionIds: string[]): Promise<void> {
    if (sessionIds.length > 0) {
      await manager.query(
        `DELETE FROM agents a WHERE a.owner_session_id = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.agent_id = a.id)`,
        [sessionIds],
      );
    }
  }
}
