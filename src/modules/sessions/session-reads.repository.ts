import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { PageRequest } from 'src/common/pagination/pagination';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { queryPrepared } from 'src/database/prepared-query.util';
import { SnapshotAgent } from 'src/modules/sessions/dto/session-response.dto';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { TurnBatch } from 'src/modules/sessions/turn-batch.util';
import {
  sessionColumns,
  sessionFromRow,
  sessionListParams,
  sessionListShape,
  sessionListSql,
  SessionListSqlOptions,
} from 'src/modules/sessions/session-list.util';
import type { SessionListFilters } from 'src/modules/sessions/sessions.repository';

export interface SnapshotRow {
  session: SessionEntity;
  agent: SnapshotAgent | null;
  /** The snapshot's `items` array as JSON text, built by PostgreSQL. */
  itemsJson: string;
  /** null when liveness was not asked for. */
  runnerOnline: boolean | null;
  /** Whether the session has pending elicitations (their events are read only then). */
  hasPendingElicitations: boolean;
  /** null when liveness was not asked for. */
  hostOnline: boolean | null;
  /** The versions read in the same statement as the data above (see SESSION_VERSION). */
  version: ReadVersion;
}

/**
 * What the answers of a session depend on besides their query, read without building them:
 * versions of the rows (see SESSION_VERSION), liveness as decided now, and whether pending
 * elicitations exist (whose answers are not cached). Null when the session does not exist.
 */
export interface ReadVersion {
  ownerId: string;
  session: string;
  /** '-' when the session's agent does not exist. */
  agent: string;
  runnerOnline: boolean | null;
  hostOnline: boolean | null;
  hasPendingElicitations: boolean;
}

/** A page as JSON text for a ListEnvelope. */
export interface JsonPage {
  /** The page's rows as a JSON array, in the order asked for. */
  dataJson: string;
  firstId: string | null;
  lastId: string | null;
  hasMore: boolean;
  /** False when a cursor was given that names no row the caller may page from. */
  cursorKnown: boolean;
}

/** A list page with its version key (listVersion), read in the same statement. */
export interface ListPageRow extends JsonPage {
  version: string;
}

export interface ItemsPageRow extends JsonPage {
  /** The session's owner; null when the session does not exist. */
  ownerId: string | null;
  /** The session row's version (SESSION_VERSION) in the same statement; null without a row. */
  sessionVersion: string | null;
}

const ITEM_CREATED_AT = 'floor(extract(epoch FROM i.created_at))::bigint';

/** A stored item in the snapshot's nested shape (ConversationItemDto). */
const NESTED_ITEM = `jsonb_build_object('id', i.id, 'type', i.type, 'status', i.status,
  'response_id', i.response_id, 'created_at', ${ITEM_CREATED_AT}, 'data', i.data,
  'created_by', i.created_by)`;

/** A stored item in the flat shape of `…/items` (flattenItem): `data`'s fields at the top. */
const FLAT_ITEM = `jsonb_build_object('id', i.id, 'response_id', i.response_id, 'type', i.type,
  'status', i.status, 'created_at', ${ITEM_CREATED_AT}) || i.data
  || CASE WHEN i.created_by IS NULL OR i.created_by = '' THEN '{}'::jsonb
          ELSE jsonb_build_object('created_by', i.created_by) END`;

/** Seconds since the epoch, floored, like toUnixSeconds. */
const unixSeconds = (column: string) => `floor(extract(epoch FROM ${column}))::bigint`;

/**
 * `runner_connections r` connected and seen within the TTL ($ttl, seconds), as
 * RunnersService.onlineAmong decides.
 */
const runnerLive = (ttl: string) =>
  `r.connected AND r.last_seen_at > now() - make_interval(secs => ${ttl}::float8)`;

/** Whether runner `runnerId` is online (runnerLive). */
const runnerOnline = (runnerId: string, ttl: string) =>
  `EXISTS (SELECT 1 FROM runner_connections r WHERE r.runner_id = ${runnerId} AND ${runnerLive(ttl)})`;

/** Online and seen within the TTL ($ttl, seconds), as HostsService.isOnlineRow decides. */
const hostOnline = (hostId: string, ttl: string) =>
  `EXISTS (SELECT 1 FROM hosts h WHERE h.host_id = ${hostId} AND h.connected
     AND h.last_seen_at > now() - make_interval(secs => ${ttl}::float8))`;

/**
 * The version of a sessions row `s`. `xmin` is the id of the transaction that wrote this row
 * version: every UPDATE of the row (whatever column, whoever writes it: ORM, raw SQL, trigger)
 * makes a new row version with the writer's id, a locking read (FOR UPDATE) does not, and a
 * rolled-back write leaves the old version visible. So no writer has to remember to bump an
 * explicit `version` column, and items writes bump the row in their transaction
 * (LockedSessionUnit.flush, ItemsRepository.insertMany). xmin is 32 bits and wraps after 2^32
 * transactions; `log_seq` (only grows) and `updated_at` make a repeat of the whole key after a
 * wrap practically impossible.
 */
const SESSION_VERSION = `concat_ws('.', s.xmin, s.log_seq,
  floor(extract(epoch FROM s.updated_at) * 1000000)::bigint)`;

/** The version of the agent row `a` (LEFT JOINed: '-' when there is none). */
const AGENT_VERSION = `coalesce(a.xmin::text || '.' ||
  floor(extract(epoch FROM a.updated_at) * 1000000)::bigint, '-')`;

/** ReadVersion's columns over `sessions s LEFT JOIN agents a`; liveness when $ttl is not null. */
const versionColumns = (ttl: string) => `s.owner_id AS owner_id__,
  ${SESSION_VERSION} AS session_version__, ${AGENT_VERSION} AS agent_version__,
  CASE WHEN ${ttl}::float8 IS NULL THEN NULL ELSE ${runnerOnline('s.runner_id', ttl)} END
    AS runner_online__,
  CASE WHEN ${ttl}::float8 IS NULL OR s.host_id IS NULL THEN NULL
    ELSE ${hostOnline('s.host_id', ttl)} END AS host_online__,
  EXISTS (SELECT 1 FROM elicitations e
          WHERE e.session_id = s.id AND e.status = 'pending') AS pending__`;

/** At most this many sessions' versions in one statement (a power of two). */
const VERSION_BATCH = 64;

function readVersion(row: Record<string, unknown>): ReadVersion {
  return {
    ownerId: row.owner_id__ as string,
    session: row.session_version__ as string,
    agent: row.agent_version__ as string,
    runnerOnline: row.runner_online__ as boolean | null,
    hostOnline: row.host_online__ as boolean | null,
    hasPendingElicitations: row.pending__ as boolean,
  };
}

/**
 * A list row's id and version, for listVersion: SESSION_VERSION's parts (xmin, log_seq,
 * updated_at), with updated_at as float8 seconds (`date_part`: distinct for timestamps 1 µs
 * apart, and cheaper than SESSION_VERSION's numeric `extract`, which was a quarter of the list
 * key statement's cost for 50 rows).
 */
const LIST_ROW_VERSION = `concat_ws(' ', s.id, s.xmin, s.log_seq, date_part('epoch', s.updated_at))`;

/** What listVersion needs of each row of the page CTE (over `sessions s`). */
const LIST_KEY_COLUMNS = `s.id, s.agent_id, s.runner_id, ${LIST_ROW_VERSION} AS version__`;

/**
 * What a list row's bytes depend on besides its sessions row, computed once per row of the
 * page CTE (over `sessions s`, after `s.*`): whether its runner is online now (runnerLive, $ttl
 * seconds), and its pending approvals, counted as ChildRailRepository does (an index probe of
 * ix_elicitations_session_id_pending per row); with the row's version for listVersion.
 */
const listRowColumns = (ttl: string) => `${LIST_ROW_VERSION} AS version__,
  s.runner_id IS NOT NULL AND ${runnerOnline('s.runner_id', ttl)} AS online__,
  (SELECT count(*)::int FROM elicitations e WHERE e.session_id = s.id AND e.status = 'pending')
    AS pending__`;

/**
 * The version key of a list page over the CTE `page` (LIST_KEY_COLUMNS, rn__ in keyset order,
 * `$limit` + 1 rows): everything of the rows shown that listItem shows and their sessions rows
 * do not hold, read once per page instead of once per row — the rows' ids and versions
 * (LIST_ROW_VERSION: order, first_id and last_id follow from them), whether a row is past the
 * page (has_more), the name of each of their agents (by id, as JSON), which of their runners
 * are online now (runnerLive, `$ttl` seconds), and one session id per pending elicitation of
 * theirs (the pending counts). Each part is one field of fixed place, so two different pages
 * never give the same text. The caller's level and the query are added by the caller.
 */
const listVersion = (limit: string, ttl: string) => `(SELECT concat_ws('|', coalesce(k.rows__, ''),
    k.more__,
    coalesce((SELECT string_agg(concat_ws(' ', a.id, to_json(a.name)), ',' ORDER BY a.id)
              FROM agents a WHERE a.id = ANY (k.agents__)), ''),
    coalesce((SELECT string_agg(r.runner_id, ',' ORDER BY r.runner_id) FROM runner_connections r
              WHERE r.runner_id = ANY (k.runners__) AND ${runnerLive(ttl)}), ''),
    coalesce((SELECT string_agg(e.session_id, ',' ORDER BY e.session_id) FROM elicitations e
              WHERE e.status = 'pending' AND e.session_id = ANY (k.ids__)), ''))
  FROM (SELECT string_agg(p.version__, ',') FILTER (WHERE p.rn__ <= ${limit}) AS rows__,
          count(*) > ${limit} AS more__,
          array_agg(p.agent_id) FILTER (WHERE p.rn__ <= ${limit}) AS agents__,
          array_agg(p.runner_id) FILTER (WHERE p.rn__ <= ${limit}) AS runners__,
          array_agg(p.id) FILTER (WHERE p.rn__ <= ${limit}) AS ids__
        FROM page p) k)`;

/**
 * A session in the list's shape (toSessionListItem) from a row of the page CTE: absent fields
 * are left out (strip_nulls; labels hold strings only). `$perm` is the caller's permission
 * level (null in local mode).
 */
const listItem = (perm: string) => `jsonb_strip_nulls(jsonb_build_object(
  'id', p.id, 'agent_id', p.agent_id, 'agent_name', p.agent_name__,
  'status', CASE WHEN p.live_status = 'waiting' THEN 'running' ELSE p.live_status END,
  'created_at', ${unixSeconds('p.created_at')}, 'updated_at', ${unixSeconds('p.updated_at')},
  'title', p.title, 'labels', coalesce(p.labels, '{}'::jsonb), 'archived', p.archived,
  'owner', p.owner_id, 'runner_id', p.runner_id, 'runner_online', p.online__,
  'host_id', p.host_id, 'workspace', p.workspace, 'parent_session_id', p.parent_session_id,
  'reasoning_effort', p.reasoning_effort, 'external_session_id', p.external_session_id,
  'permission_level', ${perm}::int, 'pending_elicitations_count', p.pending__,
  'comments_count', 0, 'viewer_unread', false))`;

/**
 * The columns that turn a CTE `page` of rows numbered `rn__` in keyset order (limit + 1 of
 * them) into a JsonPage: `$limit` rows as JSON, reversed for a `before` page.
 */
function jsonPageColumns(json: string, limit: string, backwards: boolean): string {
  const out = backwards ? 'DESC' : 'ASC';
  const back = backwards ? 'ASC' : 'DESC';
  return `(SELECT count(*) FROM page) > ${limit} AS has_more,
    (SELECT coalesce(jsonb_agg(${json} ORDER BY p.rn__ ${out}), '[]')::text
       FROM page p WHERE p.rn__ <= ${limit}) AS data,
    (SELECT id FROM page WHERE rn__ <= ${limit} ORDER BY rn__ ${out} LIMIT 1) AS first_id,
    (SELECT id FROM page WHERE rn__ <= ${limit} ORDER BY rn__ ${back} LIMIT 1) AS last_id`;
}

function jsonPage(row: Record<string, unknown>): JsonPage {
  return {
    dataJson: row.data as string,
    firstId: row.first_id as string | null,
    lastId: row.last_id as string | null,
    hasMore: row.has_more as boolean,
    cursorKnown: row.cursor_known as boolean,
  };
}

/**
 * The read paths of a session in ONE statement each (issue 12): the session row, what the
 * answer needs from other tables, and the items already serialised as JSON text by PostgreSQL,
 * so Node neither hydrates entities nor parses and re-stringifies tens of kilobytes of items.
 * Access is decided by the caller from the row (SessionAccessService), as for any other read.
 */
@Injectable()
export class SessionReadsRepository {
  private readonly prepared: boolean;
  /** version() by liveness variant: the reads of one event-loop turn share a statement. */
  private readonly versionBatches = new Map<string, TurnBatch<null, ReadVersion>>();
  /** listVersion()'s statement text by query shape (sessionListShape: a few hundred at most). */
  private readonly listKeyTexts = new Map<string, string>();
  /** listVersion() by statement and parameters: the same page asked for in one turn, once. */
  private readonly listVersions = new TurnBatch<
    { text: string; params: unknown[] },
    Promise<string | null>
  >(async (batch) => {
    // A statement of its own per page, answered (or failed) on its own: one caller's error
    // is not another's.
    const answers = new Map<string, Promise<string | null>>();
    for (const [key, { text, params }] of batch) {
      answers.set(
        key,
        queryPrepared(this.dataSource, text, params, this.prepared).then((rows) =>
          rows[0].cursor_known ? (rows[0].list_version as string) : null,
        ),
      );
    }
    return answers;
  });

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    this.prepared = config.database.preparedStatements;
  }

  /**
   * The snapshot's data: the session with its agent, up to `itemLimit` items (0: none) and,
   * when `runnerTtlMs` is given, whether its runner is online (connected and seen within the
   * TTL, as RunnersService.onlineAmong decides it). Null when the session does not exist.
   */
  async snapshot(
    id: string,
    itemLimit: number,
    runnerTtlMs: number | null,
  ): Promise<SnapshotRow | null> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT s.*, a.name AS agent_name__, a.harness AS agent_harness__,
         a.spec -> 'executor' AS agent_executor__, a.id IS NOT NULL AS agent_found__,
         CASE WHEN $2::int > 0 THEN
           (SELECT coalesce(jsonb_agg(${NESTED_ITEM} ORDER BY i.position), '[]')::text
            FROM (SELECT * FROM items WHERE session_id = s.id ORDER BY position LIMIT $2) i)
         ELSE '[]' END AS items__,
         ${versionColumns('$3')}
       FROM sessions s LEFT JOIN agents a ON a.id = s.agent_id
       WHERE s.id = $1`,
      [id, itemLimit, runnerTtlMs === null ? null : runnerTtlMs / 1000],
    );
    const row = rows[0];
    if (!row) {
      return null;
    }
    return {
      session: sessionFromRow(sessionColumns(this.dataSource.getMetadata(SessionEntity)), row),
      agent: row.agent_found__
        ? {
            name: row.agent_name__ as string,
            harness: row.agent_harness__ as string | null,
            spec: { executor: row.agent_executor__ },
          }
        : null,
      itemsJson: row.items__ as string,
      runnerOnline: row.runner_online__ as boolean | null,
      hostOnline: row.host_online__ as boolean | null,
      hasPendingElicitations: row.pending__ as boolean,
      version: readVersion(row),
    };
  }

  /**
   * The versions a snapshot or an items page depends on, by primary keys only (the session,
   * its agent, its runner and host; pending elicitations by their session index), with liveness
   * when `runnerTtlMs` is given. Null when the session does not exist.
   */
  async version(id: string, runnerTtlMs: number | null): Promise<ReadVersion | null> {
    const variant = String(runnerTtlMs);
    let batch = this.versionBatches.get(variant);
    if (!batch) {
      batch = new TurnBatch((ids) => this.versions([...ids.keys()], runnerTtlMs));
      this.versionBatches.set(variant, batch);
    }
    return (await batch.load(id, null)) ?? null;
  }

  /**
   * version() of several sessions (TurnBatch: those asked for in one turn), by statements of
   * `IN ($1 … $k)` with k a power of two up to VERSION_BATCH (the last id repeated to fill it).
   * Not `= ANY($1::text[])`: PostgreSQL cannot tell an array parameter's length from a generic
   * plan, so it planned that statement afresh on every execution (0.4 ms of its CPU against
   * 0.04 ms for one fixed-arity statement); each fixed arity gets its generic plan once.
   */
  private async versions(
    ids: string[],
    runnerTtlMs: number | null,
  ): Promise<Map<string, ReadVersion>> {
    const found = new Map<string, ReadVersion>();
    for (let from = 0; from < ids.length; from += VERSION_BATCH) {
      const chunk = ids.slice(from, from + VERSION_BATCH);
      let arity = 1;
      while (arity < chunk.length) {
        arity *= 2;
      }
      const params: unknown[] = Array.from(
        { length: arity },
        (_, i) => chunk[Math.min(i, chunk.length - 1)],
      );
      const placeholders = params.map((_, i) => `$${i + 1}`).join(', ');
      params.push(runnerTtlMs === null ? null : runnerTtlMs / 1000);
      const ttl = `$${params.length}`;
      const rows = await queryPrepared(
        this.dataSource,
        `SELECT s.id AS id__, ${versionColumns(ttl)}
         FROM sessions s LEFT JOIN agents a ON a.id = s.agent_id WHERE s.id IN (${placeholders})`,
        params,
        this.prepared,
      );
      for (const row of rows) {
        found.set(row.id__ as string, readVersion(row));
      }
    }
    return found;
  }

  /**
   * A page of a session's items in the flat shape, with the session's owner, in one statement.
   * Keyset on (position, id) like ItemsRepository.page: the cursor's position is read in SQL,
   * `limit + 1` rows tell `has_more`, and `before` pages come back in the order asked for.
   */
  async itemsPage(sessionId: string, page: PageRequest): Promise<ItemsPageRow> {
    const cursorId = page.after ?? page.before;
    const backwards = Boolean(cursorId && !page.after);
    const ascending = (page.order === 'asc') !== backwards;
    const direction = ascending ? 'ASC' : 'DESC';
    const params: unknown[] = [sessionId, page.limit];
    let after = '';
    let cursorKnown = 'true';
    if (cursorId) {
      params.push(cursorId);
      after = ` AND (i.position, i.id) ${ascending ? '>' : '<'} ((SELECT c.position FROM items c WHERE c.session_id = $1 AND c.id = $3), $3)`;
      cursorKnown = 'EXISTS (SELECT 1 FROM items c WHERE c.session_id = $1 AND c.id = $3)';
    }
    const rows = await queryPrepared(
      this.dataSource,
      `WITH page AS (
         SELECT i.id, ${FLAT_ITEM} AS item,
           row_number() OVER (ORDER BY i.position ${direction}, i.id ${direction}) AS rn__
         FROM items i WHERE i.session_id = $1${after}
         ORDER BY i.position ${direction}, i.id ${direction} LIMIT $2 + 1)
       SELECT s.owner_id, ${SESSION_VERSION} AS session_version,
         ${jsonPageColumns('p.item', '$2', backwards)}, ${cursorKnown} AS cursor_known
       FROM (SELECT 1) one LEFT JOIN sessions s ON s.id = $1`,
      params,
      this.prepared,
    );
    return {
      ...jsonPage(rows[0]),
      ownerId: rows[0].owner_id as string | null,
      sessionVersion: rows[0].session_version as string | null,
    };
  }

  /**
   * A page of the session list (sessionListSql's filters and keyset) in the list's shape, in
   * one statement; `permissionLevel` is the caller's on each of their own sessions. With the
   * page's version key (listVersion) read in the same statement.
   */
  async listPage(
    filters: SessionListFilters,
    page: PageRequest,
    runnerTtlMs: number,
    permissionLevel: number | null,
  ): Promise<ListPageRow> {
    let ttl = '';
    const list = listStatement(filters, page, (param) => {
      ttl = param(runnerTtlMs / 1000);
      return `s.*, ${listRowColumns(ttl)}`;
    });
    const perm = list.param(permissionLevel);
    const rows = await queryPrepared(
      this.dataSource,
      `WITH page AS (${list.sql})
       SELECT ${jsonPageColumns(listItem(perm), '$2 - 1', list.backwards)},
         ${listVersion('$2 - 1', ttl)} AS list_version, ${list.cursorKnown} AS cursor_known`,
      list.params,
      this.prepared,
    );
    return { ...jsonPage(rows[0]), version: rows[0].list_version as string };
  }

  /**
   * The version key of the list page listPage would build (listVersion): the same walk of the
   * same index range, without building a row. Null when the cursor is unknown. The statement's
   * text is built once per query shape (listKeyStatement), its parameters on every call.
   */
  async listVersion(
    filters: SessionListFilters,
    page: PageRequest,
    runnerTtlMs: number,
  ): Promise<string | null> {
    const shape = sessionListShape(filters, page);
    const params = listKeyParams(filters, page, runnerTtlMs / 1000);
    let text = this.listKeyTexts.get(shape);
    if (text === undefined) {
      const built = listKeyStatement(filters, page, runnerTtlMs / 1000);
      if (JSON.stringify(built.params) !== JSON.stringify(params)) {
        // A change to sessionListSql's parameters that listKeyParams does not follow.
        throw new Error(`listKeyParams does not match the statement of shape ${shape}`);
      }
      text = built.text;
      this.listKeyTexts.set(shape, text);
    }
    // The shape decides the text: the same shape and values, the same statement.
    return this.listVersions.load(`${shape}|${JSON.stringify(params)}`, { text, params });
  }
}

/**
 * sessionListSql's statement with a page's rows, cursor check and `$ttl`, over `columns`
 * (listStatement's `param` adds parameters after sessionListSql's own).
 */
function listStatement(
  filters: SessionListFilters,
  page: PageRequest,
  columns: (param: (value: unknown) => string) => string,
  options: SessionListSqlOptions = {},
) {
  const list = sessionListSql(filters, page, columns, { ...options, generic: true });
  const params = [...list.params];
  const param = (value: unknown) => `$${params.push(value)}`;
  const cursorId = page.after ?? page.before;
  // Like SessionsRepository.list: a cursor must be one of the caller's own sessions.
  const cursorKnown = cursorId
    ? `EXISTS (SELECT 1 FROM sessions c WHERE c.id = ${param(cursorId)} AND c.owner_id = $1)`
    : 'true';
  return { sql: list.sql, params, param, backwards: list.backwards, cursorKnown };
}

/**
 * The list key statement of a page (listVersion), built afresh: its text depends only on the
 * page's sessionListShape, its parameters are listKeyParams'.
 */
export function listKeyStatement(
  filters: SessionListFilters,
  page: PageRequest,
  ttlSeconds: number,
): { text: string; params: unknown[] } {
  const list = listStatement(filters, page, () => LIST_KEY_COLUMNS, { withAgent: false });
  const ttl = list.param(ttlSeconds);
  return {
    text: `WITH page AS (${list.sql})
       SELECT ${listVersion('$2 - 1', ttl)} AS list_version, ${list.cursorKnown} AS cursor_known`,
    params: list.params,
  };
}

/** listKeyStatement's parameters without its text: sessionListParams', the cursor, the TTL. */
export function listKeyParams(
  filters: SessionListFilters,
  page: PageRequest,
  ttlSeconds: number,
): unknown[] {
  const params = sessionListParams(filters, page);
  const cursorId = page.after ?? page.before;
  if (cursorId) {
    params.push(cursorId);
  }
  params.push(ttlSeconds);
  return params;
}
