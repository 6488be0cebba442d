import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** What an evaluation reads: the policy state, the conversation's labels, whether they were seeded. */
export interface PolicySnapshot {
  state: Record<string, unknown>;
  labels: Record<string, string>;
  labelsSeeded: boolean;
  /** The spawn tree's root (the session itself when it is one). */
  rootSessionId: string;
  ownerId: string;
}

/** What an evaluation writes back (each part optional). */
export interface PolicyWrites {
  state?: Record<string, unknown>;
  /** Label writes (they override the stored values). */
  labels?: Record<string, string>;
  /** Initial label values: stored only where the conversation has no such label, once. */
  seed?: Record<string, string>;
}

/**
 * The per-session policy state (`session_state` upstream) and the conversation labels policies
 * read and write (the session's `labels`). Reads and writes go through one row-locked
 * transaction (`withState`), so concurrent evaluations of a session run one after another on
 * fresh state and no counter increment or label write is lost; label writes merge into the
 * stored map in SQL, so a concurrent `PATCH` of other labels is kept too.
 */
@Injectable()
export class PolicyStateRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async get(sessionId: string): Promise<PolicySnapshot> {
    return this.read(this.dataSource.manager, sessionId, false);
  }

  /**
   * Runs `work` on the session's snapshot with the state row locked; what it returns in `writes`
   * is stored in the same transaction.
   */
  withState<T>(
    sessionId: string,
    work: (snapshot: PolicySnapshot) => Promise<{ writes?: PolicyWrites; result: T }>,
  ): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(
        `INSERT INTO policy_session_states (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING`,
        [sessionId],
      );
      const { writes, result } = await work(await this.read(manager, sessionId, true));
      if (writes?.state) {
        await manager.query(
          `UPDATE policy_session_states SET state = $2, updated_at = now() WHERE session_id = $1`,
          [sessionId, JSON.stringify(writes.state)],
        );
      }
      if (writes?.seed) {
        await manager.query(
          `UPDATE policy_session_states SET labels_seeded = true WHERE session_id = $1`,
          [sessionId],
        );
      }
      const seed = writes?.seed ?? {};
      const labels = writes?.labels ?? {};
      if (Object.keys(seed).length > 0 || Object.keys(labels).length > 0) {
        await manager.query(
          `UPDATE sessions SET labels = $2::jsonb || labels || $3::jsonb WHERE id = $1`,
          [sessionId, JSON.stringify(seed), JSON.stringify(labels)],
        );
      }
      return result;
    });
  }

  private async read(
    manager: EntityManager,
    sessionId: string,
    lock: boolean,
  ): Promise<PolicySnapshot> {
    // Locking reads run after the state row was inserted (an outer join's nullable side cannot
    // be locked).
    const rows = (await manager.query(
      lock
        ? `SELECT st.state, st.labels_seeded, s.labels, s.root_session_id, s.owner_id
             FROM sessions s JOIN policy_session_states st ON st.session_id = s.id
            WHERE s.id = $1 FOR UPDATE OF st`
        : `SELECT st.state, st.labels_seeded, s.labels, s.root_session_id, s.owner_id
             FROM sessions s LEFT JOIN policy_session_states st ON st.session_id = s.id
            WHERE s.id = $1`,
      [sessionId],
    )) as {
      state: Record<string, unknown> | null;
      labels_seeded: boolean | null;
      labels: Record<string, string> | null;
      root_session_id: string | null;
      owner_id: string;
    }[];
    const row = rows[0];
    return {
      state: row?.state ?? {},
      labels: row?.labels ?? {},
      labelsSeeded: row?.labels_seeded ?? false,
      rootSessionId: row?.root_session_id ?? sessionId,
      ownerId: row?.owner_id ?? '',
    };
  }
}
