import { Injectable } from '@nestjs/common';

import { PageRequest } from 'src/common/pagination/pagination';
import {
  ChildSessionSummaryDto,
  toChildSessionSummary,
} from 'src/modules/sessions/dto/session-response.dto';
import { ChildRailRepository } from 'src/modules/sessions/child-rail.repository';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { SessionRow, SessionsRepository } from 'src/modules/sessions/sessions.repository';

/** The connect-time snapshot sends this many of the newest children (api-reference §4.3). */
export const SNAPSHOT_CHILDREN = 100;

/**
 * Builds `ChildSessionSummary`s (api-reference §3.10) for `GET …/child_sessions`, the stream's
 * connect-time snapshot and the rail's live deltas: previews and pending-approval counts are read
 * for a whole page at once, never per child.
 */
@Injectable()
export class ChildSummariesService {
  constructor(
    private readonly items: ItemsRepository,
    private readonly rail: ChildRailRepository,
    private readonly sessions: SessionsRepository,
  ) {}

  /** A page of a parent's children; null when the cursor names none of them. */
  async page(
    parentId: string,
    page: PageRequest,
    title?: string,
  ): Promise<{ data: ChildSessionSummaryDto[]; hasMore: boolean } | null> {
    const rows = await this.sessions.listChildren(parentId, page, title);
    return rows && { data: await this.summaries(rows.rows), hasMore: rows.hasMore };
  }

  /** The newest children, oldest first, for the snapshot on connect. */
  async newest(parentId: string): Promise<ChildSessionSummaryDto[]> {
    const page = await this.page(parentId, { limit: SNAPSHOT_CHILDREN, order: 'desc' });
    return (page?.data ?? []).reverse();
  }

  async lastMessageText(childId: string): Promise<string | null> {
    return (await this.items.lastMessageTexts([childId])).get(childId) ?? null;
  }

  async pendingElicitationsCount(childId: string): Promise<number> {
    return (await this.rail.pendingElicitationCounts([childId])).get(childId) ?? 0;
  }

  /** Pending approvals per session (one grouped count), for the sessions that have any. */
  pendingElicitationCounts(sessionIds: string[]): Promise<Map<string, number>> {
    return this.rail.pendingElicitationCounts(sessionIds);
  }

  private async summaries(rows: SessionRow[]): Promise<ChildSessionSummaryDto[]> {
    const ids = rows.map((r) => r.session.id);
    const [texts, counts] = await Promise.all([
      this.items.lastMessageTexts(ids),
      this.rail.pendingElicitationCounts(ids),
    ]);
    return rows.map((r) =>
      toChildSessionSummary(
        r.session,
        r.agentName,
        texts.get(r.session.id) ?? null,
        counts.get(r.session.id) ?? 0,
      ),
    );
  }
}
