import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * The per-session policy state (`session_state` upstream). Reads and writes go through one
 * row-locked transaction (`withState`), so concurrent evaluations of a session run one after
 * another on fresh state and no counter increment is lost.
 */
@Injectable()
export class PolicyStateRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async get(sessionId: string): Promise<Record<string, unknown>> {
    const rows = (await this.dataSource.query(
      `SELECT state FROM policy_session_states WHERE session_id = $1`,
      [sessionId],
    )) as { state: Record<string, unknown> }[];
    return rows[0]?.state ?? {};
  }

  /**
   * Runs `work` on the session's state with the state row locked; when it returns `state`, that
   * is stored in the same transaction.
   */
  withState<T>(
    sessionId: string,
    work: (
      state: Record<string, unknown>,
    ) => Promise<{ state?: Record<string, unknown>; result: T }>,
  ): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(
        `INSERT INTO policy_session_states (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING`,
        [sessionId],
      );
      const rows = (await manager.query(
        `SELECT state FROM policy_session_states WHERE session_id = $1 FOR UPDATE`,
        [sessionId],
      )) as { state: Record<string, unknown> }[];
      const { state, result } = await work(rows[0]?.state ?? {});
      if (state) {
        await manager.query(
          `UPDATE policy_session_states SET state = $2, updated_at = now() WHERE session_id = $1`,
          [sessionId, JSON.stringify(state)],
        );
      }
      return result;
    });
  }
}
