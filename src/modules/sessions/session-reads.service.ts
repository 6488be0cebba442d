import { Inject, Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { pageRequest } from 'src/common/pagination/pagination';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { HostsService } from 'src/modules/hosts/hosts.service';
import {
  GetSessionQueryDto,
  ListItemsQueryDto,
  ListSessionsQueryDto,
} from 'src/modules/sessions/dto/session-request.dto';
import { toSessionResponse } from 'src/modules/sessions/dto/session-response.dto';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { sessionListFilters } from 'src/modules/sessions/session-list.util';
import {
  JsonPage,
  SessionReadsRepository,
  SnapshotRow,
} from 'src/modules/sessions/session-reads.repository';
import { SessionError } from 'src/modules/sessions/sessions.errors';
import { SessionsService, SNAPSHOT_ITEM_LIMIT } from 'src/modules/sessions/sessions.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';

/**
 * Where the items' JSON text goes in the snapshot's serialised body. PostgreSQL text and jsonb
 * cannot hold a NUL character, so no stored value serialises to this string.
 */
const ITEMS_SLOT = '\u0000items\u0000';

/** The ListEnvelope of listEnvelope(), around a page's JSON text. */
function envelope(page: JsonPage): string {
  if (!page.cursorKnown) {
    throw SessionError.invalid('Unknown pagination cursor');
  }
  return (
    `{"object":"list","data":${page.dataJson},"first_id":${JSON.stringify(page.firstId)},` +
    `"last_id":${JSON.stringify(page.lastId)},"has_more":${page.hasMore}}`
  );
}

/**
 * `GET /v1/sessions`, `GET /v1/sessions/{id}` and `GET /v1/sessions/{id}/items` as JSON text (issue 12): one
 * statement reads the session, checks nothing twice, and brings the items already serialised
 * by PostgreSQL; Node adds the session's own fields around them. Same shapes as
 * `toSessionResponse` and `flattenItem` give (key order within an item aside).
 */
@Injectable()
export class SessionReadsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: SessionAccessService,
    private readonly hosts: HostsService,
    private readonly policyHooks: TurnPolicyHooks,
    private readonly reads: SessionReadsRepository,
    private readonly sessions: SessionsService,
  ) {}

  async snapshotJson(
    auth: AuthPrincipal,
    id: string,
    query: GetSessionQueryDto = {},
  ): Promise<string> {
    const liveness = query.include_liveness !== false;
    const row = await this.reads.snapshot(
      id,
      query.include_items === false ? 0 : SNAPSHOT_ITEM_LIMIT,
      liveness ? this.config.runners.livenessTtlMs : null,
    );
    const session = this.access.check(auth, id, row?.session ?? null, SessionLevel.Read);
    // check() threw when there is no row.
    const { agent, itemsJson, runnerOnline, hasPendingElicitations } = row as SnapshotRow;
    const hostId = session.hostId;
    const [pending, hostOnline] = await Promise.all([
      hasPendingElicitations ? (this.policyHooks.get()?.pendingElicitations(id) ?? []) : [],
      liveness && hostId
        ? this.hosts.onlineAmong([hostId]).then((online) => online.has(hostId))
        : null,
    ]);
    const body = toSessionResponse(
      session,
      agent,
      [],
      { runnerOnline, hostOnline },
      this.access.displayLevel(auth, session),
      pending,
    );
    return JSON.stringify({ ...body, items: ITEMS_SLOT }).replace(
      JSON.stringify(ITEMS_SLOT),
      () => itemsJson,
    );
  }

  async itemsJson(auth: AuthPrincipal, id: string, query: ListItemsQueryDto): Promise<string> {
    const page = await this.reads.itemsPage(id, pageRequest(query, { limit: 100, order: 'asc' }));
    this.access.check(
      auth,
      id,
      page.ownerId === null ? null : { ownerId: page.ownerId },
      SessionLevel.Read,
    );
    return envelope(page);
  }

  /** The session list; a search (snippets from message text) takes SessionsService's path. */
  async listJson(auth: AuthPrincipal, query: ListSessionsQueryDto): Promise<string> {
    const filters = sessionListFilters(auth.userId, query);
    if (!filters || filters.search) {
      return JSON.stringify(await this.sessions.list(auth, query));
    }
    const page = await this.reads.listPage(
      filters,
      pageRequest(query),
      this.config.runners.livenessTtlMs,
      this.access.displayLevel(auth, { ownerId: auth.userId }),
    );
    return envelope(page);
  }
}
