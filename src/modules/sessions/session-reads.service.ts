import { Inject, Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { pageRequest } from 'src/common/pagination/pagination';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import {
  GetSessionQueryDto,
  ListItemsQueryDto,
  ListSessionsQueryDto,
} from 'src/modules/sessions/dto/session-request.dto';
import { toSessionResponse } from 'src/modules/sessions/dto/session-response.dto';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { sessionListFilters } from 'src/modules/sessions/session-list.util';
import { AnswerCache } from 'src/modules/sessions/answer-cache.util';
import {
  bodyEtag,
  etagMatches,
  JsonReply,
  jsonReply,
  versionEtag,
} from 'src/modules/sessions/json-reply.util';
import {
  JsonPage,
  ReadVersion,
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

/** What a snapshot's bytes depend on: its variant (`slot`), the versions read, the caller's level. */
function snapshotKey(slot: string, version: ReadVersion, level: number | null): string {
  return [
    slot,
    version.session,
    version.agent,
    version.runnerOnline,
    version.hostOnline,
    level,
  ].join('|');
}

/** What a list page's bytes depend on: its query (`slot`), its rows' versions, the caller's level. */
function listKey(slot: string, version: string, level: number | null): string {
  return `${slot}|${level}|${version}`;
}

/**
 * `GET /v1/sessions`, `GET /v1/sessions/{id}` and `GET /v1/sessions/{id}/items` as JSON text (issue 12): one
 * statement reads the session, checks nothing twice, and brings the items already serialised
 * by PostgreSQL; Node adds the session's own fields around them. Same shapes as
 * `toSessionResponse` and `flattenItem` give (key order within an item aside).
 *
 * Snapshots and items pages are keyed by version (third pass): a cheap statement reads what
 * they depend on (ReadVersion) and the access check runs on its row; an `If-None-Match` of the
 * key's ETag is a 304 and a cached answer under the same key is sent as it is, neither built.
 * An answer is cached only under the key read in the statement that built it, so a concurrent
 * write can never label new bytes with an old key or old bytes with a new one. Answers showing
 * pending elicitations (which change without the session row) are neither cached nor keyed.
 * List pages are keyed the same way by the rows they show (listVersion).
 */
@Injectable()
export class SessionReadsService {
  private readonly cache: AnswerCache | null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: SessionAccessService,
    private readonly policyHooks: TurnPolicyHooks,
    private readonly reads: SessionReadsRepository,
    private readonly sessions: SessionsService,
  ) {
    this.cache = config.reads.cacheBytes > 0 ? new AnswerCache(config.reads.cacheBytes) : null;
  }

  async snapshot(
    auth: AuthPrincipal,
    id: string,
    query: GetSessionQueryDto = {},
    ifNoneMatch?: string,
  ): Promise<JsonReply> {
    const itemLimit = query.include_items === false ? 0 : SNAPSHOT_ITEM_LIMIT;
    const ttl = query.include_liveness !== false ? this.config.runners.livenessTtlMs : null;
    const slot = JSON.stringify(['snapshot', id, itemLimit, ttl !== null]);
    if (this.cache || ifNoneMatch) {
      const version = await this.reads.version(id, ttl);
      const checked = this.access.check(auth, id, version, SessionLevel.Read);
      if (!checked.hasPendingElicitations) {
        const key = snapshotKey(slot, checked, this.access.displayLevel(auth, checked));
        const known = this.known(slot, key, ifNoneMatch);
        if (known) {
          return known;
        }
      }
    }
    const row = await this.reads.snapshot(id, itemLimit, ttl);
    const session = this.access.check(auth, id, row?.session ?? null, SessionLevel.Read);
    // check() threw when there is no row.
    const { agent, itemsJson, runnerOnline, hostOnline, hasPendingElicitations, version } =
      row as SnapshotRow;
    const pending = hasPendingElicitations
      ? ((await this.policyHooks.get()?.pendingElicitations(id)) ?? [])
      : [];
    const level = this.access.displayLevel(auth, session);
    const body = toSessionResponse(
      session,
      agent,
      [],
      { runnerOnline, hostOnline },
      level,
      pending,
    );
    const json = JSON.stringify({ ...body, items: ITEMS_SLOT }).replace(
      JSON.stringify(ITEMS_SLOT),
      () => itemsJson,
    );
    if (hasPendingElicitations) {
      return jsonReply(bodyEtag(json), json, ifNoneMatch);
    }
    return this.store(slot, snapshotKey(slot, version, level), json, ifNoneMatch);
  }

  async items(
    auth: AuthPrincipal,
    id: string,
    query: ListItemsQueryDto,
    ifNoneMatch?: string,
  ): Promise<JsonReply> {
    const request = pageRequest(query, { limit: 100, order: 'asc' });
    const slot = JSON.stringify([
      'items',
      id,
      request.limit,
      request.order,
      request.after ?? null,
      request.before ?? null,
    ]);
    if (this.cache || ifNoneMatch) {
      const version = await this.reads.version(id, null);
      const checked = this.access.check(auth, id, version, SessionLevel.Read);
      const known = this.known(slot, `${slot}|${checked.session}`, ifNoneMatch);
      if (known) {
        return known;
      }
    }
    const page = await this.reads.itemsPage(id, request);
    this.access.check(
      auth,
      id,
      page.ownerId === null ? null : { ownerId: page.ownerId },
      SessionLevel.Read,
    );
    return this.store(slot, `${slot}|${page.sessionVersion}`, envelope(page), ifNoneMatch);
  }

  /**
   * The session list. A page without search is keyed by version (listVersion: the rows it
   * shows, their row versions, agent names, liveness and pending counts as of now), like a
   * snapshot; a search (snippets from message text) takes SessionsService's path, body-hash ETag.
   */
  async list(
    auth: AuthPrincipal,
    query: ListSessionsQueryDto,
    ifNoneMatch?: string,
  ): Promise<JsonReply> {
    const filters = sessionListFilters(auth.userId, query);
    if (!filters || filters.search) {
      const json = JSON.stringify(await this.sessions.list(auth, query));
      return jsonReply(bodyEtag(json), json, ifNoneMatch);
    }
    const request = pageRequest(query);
    const ttl = this.config.runners.livenessTtlMs;
    const level = this.access.displayLevel(auth, { ownerId: auth.userId });
    const slot = JSON.stringify([
      'list',
      auth.userId,
      filters.sortBy,
      filters.agentId ?? null,
      filters.agentName ?? null,
      filters.includeArchived,
      filters.kind,
      request.limit,
      request.order,
      request.after ?? null,
      request.before ?? null,
    ]);
    if (this.cache || ifNoneMatch) {
      const version = await this.reads.listVersion(filters, request, ttl);
      // An unknown cursor is a 400, from the build below.
      if (version !== null) {
        const known = this.known(slot, listKey(slot, version, level), ifNoneMatch);
        if (known) {
          return known;
        }
      }
    }
    const page = await this.reads.listPage(filters, request, ttl, level);
    return this.store(slot, listKey(slot, page.version, level), envelope(page), ifNoneMatch);
  }

  async snapshotJson(
    auth: AuthPrincipal,
    id: string,
    query: GetSessionQueryDto = {},
  ): Promise<string> {
    // Without If-None-Match there is always a body.
    return (await this.snapshot(auth, id, query)).json as string;
  }

  async itemsJson(auth: AuthPrincipal, id: string, query: ListItemsQueryDto): Promise<string> {
    return (await this.items(auth, id, query)).json as string;
  }

  async listJson(auth: AuthPrincipal, query: ListSessionsQueryDto): Promise<string> {
    return (await this.list(auth, query)).json as string;
  }

  /** The reply for version `key` when it needs no build: 304, or the cached answer. */
  private known(slot: string, key: string, ifNoneMatch: string | undefined): JsonReply | null {
    const hit = this.cache?.get(slot, key);
    if (hit) {
      // Stored under this key: its ETag is versionEtag(key), already hashed.
      return jsonReply(hit.etag, hit.json, ifNoneMatch);
    }
    const etag = versionEtag(key);
    return etagMatches(ifNoneMatch, etag) ? { etag, json: null } : null;
  }

  /** Caches an answer under the key read in the statement that built it, and replies with it. */
  private store(slot: string, key: string, json: string, ifNoneMatch?: string): JsonReply {
    const etag = versionEtag(key);
    this.cache?.set(slot, { version: key, json, etag });
    return jsonReply(etag, json, ifNoneMatch);
  }
}
