import { createHash } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';

import { Cursor, keysetPage, PageRequest } from 'src/common/pagination/pagination';
import { AgentEntity } from 'src/modules/registry/agent.entity';

/** An agent to insert, with the bytes of its uploaded bundle when it has one. */
export type NewAgent = Partial<AgentEntity> & { bundle?: Buffer | null };

@Injectable()
export class AgentsRepository {
  constructor(@InjectRepository(AgentEntity) private readonly agents: Repository<AgentEntity>) {}

  getById(id: string): Promise<AgentEntity | null> {
    return this.agents.findOneBy({ id });
  }

  /** The original bundle of an uploaded agent (stored once per content in agent_bundles). */
  async getBundle(
    id: string,
    manager: EntityManager = this.agents.manager,
  ): Promise<Buffer | null> {
    const rows: { data: Buffer }[] = await manager.query(
      `SELECT b.data FROM agents a JOIN agent_bundles b ON b.sha256 = a.bundle_sha256
       WHERE a.id = $1`,
      [id],
    );
    return rows[0]?.data ?? null;
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

  /**
   * Inside a caller's transaction: stores an agent created from an uploaded bundle. The bundle
   * is stored by content: a bundle already stored (another session's upload, a fork) is shared.
   */
  async insertWith(manager: EntityManager, agent: NewAgent): Promise<AgentEntity> {
    const { bundle, ...fields } = agent;
    const bundleSha256 = bundle ? await this.putBundle(manager, bundle) : fields.bundleSha256;
    const repo = manager.getRepository(AgentEntity);
    return repo.save(repo.create({ ...fields, bundleSha256: bundleSha256 ?? null }));
  }

  /**
   * Stores a bundle once per content and returns its address. The upsert locks an existing row
   * until commit, so a concurrent garbage collection (`deleteOwnedBy`) cannot remove it between
   * here and the agent row that references it.
   */
  private async putBundle(manager: EntityManager, data: Buffer): Promise<string> {
    const sha256 = createHash('sha256').update(data).digest('hex');
    await manager.query(
      `INSERT INTO agent_bundles (sha256, data, size) VALUES ($1, $2, $3)
       ON CONFLICT (sha256) DO UPDATE SET size = agent_bundles.size`,
      [sha256, data, data.length],
    );
    return sha256;
  }

  /**
   * Inside a caller's transaction: a session-scoped agent for a fork, sharing the source's
   * bundle (the row only references it; no bytes are copied).
   */
  cloneWith(
    manager: EntityManager,
    source: AgentEntity,
    newId: string,
    ownerSessionId: string,
    ownerId: string,
  ): Promise<AgentEntity> {
    return this.insertWith(manager, {
      id: newId,
      name: source.name,
      version: source.version,
      description: source.description,
      harness: source.harness,
      spec: source.spec,
      yaml: source.yaml,
      bundleSha256: source.bundleSha256,
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
    if (sessionIds.length === 0) {
      return;
    }
    // A SELECT around the DELETE: the driver answers a bare DELETE … RETURNING as [rows, count].
    const deleted: { sha256: string }[] = await manager.query(
      `WITH gone AS (
         DELETE FROM agents a WHERE a.owner_session_id = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.agent_id = a.id)
         RETURNING a.bundle_sha256)
       SELECT DISTINCT bundle_sha256 AS sha256 FROM gone WHERE bundle_sha256 IS NOT NULL`,
      [sessionIds],
    );
    const digests = deleted.map((r) => r.sha256);
    if (digests.length === 0) {
      return;
    }
    // Bundles no agent references any more go too. Lock them first, then look for references
    // in a new statement: an insert that shares one of them (putBundle's upsert, or the foreign
    // key check of a fork's agent) holds a lock on it, so we see its agent once it committed.
    await manager.query(
      `SELECT 1 FROM agent_bundles WHERE sha256 = ANY($1) ORDER BY sha256 FOR UPDATE`,
      [digests],
    );
    await manager.query(
      `DELETE FROM agent_bundles b WHERE b.sha256 = ANY($1)
         AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.bundle_sha256 = b.sha256)`,
      [digests],
    );
  }
}
