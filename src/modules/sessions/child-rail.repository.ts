import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** What the parent's child-session rail reads besides the child rows (one statement per page). */
@Injectable()
export class ChildRailRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Pending approvals per session, for the sessions that have any. */
  async pendingElicitationCounts(sessionIds: string[]): Promise<Map<string, number>> {
    if (sessionIds.length === 0) {
      return new Map();
    }
    const rows: { session_id: string; n: number }[] = await this.dataSource.query(
      `SELECT session_id, count(*)::int AS n FROM elicitations
       WHERE session_id = ANY($1) AND status = 'pending' GROUP BY session_id`,
      [sessionIds],
    );
    return new Map(rows.map((r) => [r.session_id, r.n]));
  }
}
