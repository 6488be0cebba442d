import { EntityMetadata } from 'typeorm';
import { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

import { IdPrefix, normalizeId } from 'src/common/ids/ids';
import { PageRequest } from 'src/common/pagination/pagination';
import { ListSessionsQueryDto } from 'src/modules/sessions/dto/session-request.dto';
import { searchText } from 'src/modules/sessions/session-rules';
import { prefixTsQuery } from 'src/modules/sessions/items.repository';
import type { SessionListFilters } from 'src/modules/sessions/sessions.repository';
import { SessionEntity } from 'src/modules/sessions/session.entity';

/** The list's filters from its query; null when `agent_id` is malformed (it matches nothing). */
export function sessionListFilters(
  ownerId: string,
  query: ListSessionsQueryDto,
): SessionListFilters | null {
  const agentId = query.agent_id ? normalizeId(IdPrefix.Agent, query.agent_id) : undefined;
  if (agentId === null) {
    return null;
  }
  return {
    ownerId,
    sortBy: query.sort_by ?? 'created_at',
    agentId,
    agentName: query.agent_name,
    search: searchText(query.search_query),
    includeArchived: query.include_archived ?? false,
    kind: query.kind ?? 'default',
  };
}

export interface SessionListSqlOptions {
  /** False: no `agent_name__`, and agents joined only when `agentName` filters on it. */
  withAgent?: boolean;
  /**
   * For a named prepared statement: the owner, limit and filter values as `(SELECT $n::type)`,
   * which a custom plan cannot see into either. Otherwise PostgreSQL, once it has statistics,
   * costs the generic plan's `LIMIT $2` at a tenth of the owner's rows and `owner_id = $1` at an
   * average owner's, finds every custom plan cheaper and plans the statement on every execution
   * (0.25–0.3 ms, for the same index walk); so its plan is made once per connection.
   */
  generic?: boolean;
}

/**
 * sessionListSql's own parameters, in the order its text numbers them: `$1` the owner, `$2`
 * `limit + 1`, then the value of each filter given (kind unless `any`, agent id, agent name,
 * search) and the cursor's id. Which of them are given is the query's shape (sessionListShape).
 */
export function sessionListParams(filters: SessionListFilters, page: PageRequest): unknown[] {
  const params: unknown[] = [filters.ownerId, page.limit + 1];
  const given = [
    filters.kind !== 'any' ? filters.kind : undefined,
    filters.agentId,
    filters.agentName,
    filters.search,
    page.after ?? page.before,
  ];
  for (const value of given) {
    if (value) {
      params.push(value);
    }
  }
  return params;
}

/**
 * Everything the text of sessionListSql depends on besides its `columns` and options: which
 * filters are given (not their values), the sort column, whether there is a cursor and the
 * walk's direction. Two queries of one shape get the same text (with the same `columns` and
 * options) and their values in the same places, so a statement can be built once per shape
 * (issue 12: building the list key statement's text, and hashing it for its batch and its
 * prepared name, was most of Node's own work on a list page).
 */
export function sessionListShape(filters: SessionListFilters, page: PageRequest): string {
  const { backwards, ascending } = walk(page);
  return [
    filters.sortBy === 'updated_at' ? 'updated_at' : 'created_at',
    Boolean(filters.includeArchived),
    filters.kind !== 'any',
    Boolean(filters.agentId),
    Boolean(filters.agentName),
    Boolean(filters.search),
    Boolean(page.after ?? page.before),
    backwards,
    ascending,
  ].join(' ');
}

/** The keyset walk of a page: backwards for a `before` cursor, in the order asked for. */
function walk(page: PageRequest): { cursorId?: string; backwards: boolean; ascending: boolean } {
  const cursorId = page.after ?? page.before;
  const backwards = Boolean(cursorId && !page.after);
  return { cursorId, backwards, ascending: (page.order === 'asc') !== backwards };
}

/**
 * The session list in one raw statement (issue 12: entity hydration by the query builder was
 * most of the list's cost). Keyset on (sort column, id) like `keysetPage`; the cursor's sort key
 * is read in SQL (microseconds), from the caller's own sessions only, so a missing or foreign
 * cursor yields no rows and the caller then tells "unknown cursor" from "end of the list".
 * Asks for `limit + 1` rows to know `has_more`. Its parameters are sessionListParams', then any
 * `columns` adds; its text depends only on sessionListShape (and `columns` and the options).
 */
export function sessionListSql(
  filters: SessionListFilters,
  page: PageRequest,
  columns: (param: (value: unknown) => string) => string = () => 's.*',
  options: SessionListSqlOptions = {},
): { sql: string; params: unknown[]; backwards: boolean } {
  const { withAgent = true, generic = false } = options;
  const params = sessionListParams(filters, page);
  // The placeholders of sessionListParams' values after $1 and $2, taken in its order.
  let given = 2;
  const next = () => `$${++given}`;
  const param = (value: unknown) => `$${params.push(value)}`;
  const value = (placeholder: string, type: string) =>
    generic ? `(SELECT ${placeholder}::${type})` : placeholder;
  const where = [`s.owner_id = ${value('$1', 'text')}`];
  if (!filters.includeArchived) {
    where.push('s.archived = false');
  }
  if (filters.kind !== 'any') {
    where.push(`s.kind = ${value(next(), 'text')}`);
  }
  if (filters.agentId) {
    where.push(`s.agent_id = ${value(next(), 'text')}`);
  }
  if (filters.agentName) {
    where.push(`a.name = ${value(next(), 'text')}`);
  }
  if (filters.search) {
    // Both to_tsvector expressions match the GIN indexes ix_sessions_title_search and
    // ix_items_text_search.
    const query = prefixTsQuery(next());
    where.push(
      `(to_tsvector('simple', coalesce(s.title, '')) @@ ${query}
        OR s.id IN (SELECT i.session_id FROM items i
                    WHERE i.text_content IS NOT NULL
                      AND to_tsvector('simple', i.text_content) @@ ${query}))`,
    );
  }
  const column = filters.sortBy === 'updated_at' ? 'updated_at' : 'created_at';
  const { cursorId, backwards, ascending } = walk(page);
  if (cursorId) {
    const cursor = next();
    where.push(
      `(s.${column}, s.id) ${ascending ? '>' : '<'} ((SELECT c.${column} FROM sessions c WHERE c.id = ${cursor} AND c.owner_id = $1), ${cursor})`,
    );
  }
  const direction = ascending ? 'ASC' : 'DESC';
  const select = columns(param);
  // Without `withAgent` (a walk that needs no agent name), agents are joined only to filter.
  const join = withAgent || filters.agentName;
  return {
    // rn__: the row's place in keyset order (1 = first), for callers that aggregate the page.
    // `columns` (default s.*) may name other expressions over `s` and `a` (agents, LEFT JOIN),
    // with parameters of their own.
    sql: `SELECT ${select}${withAgent ? ', a.name AS agent_name__' : ''},
            row_number() OVER (ORDER BY s.${column} ${direction}, s.id ${direction}) AS rn__
          FROM sessions s${join ? ' LEFT JOIN agents a ON a.id = s.agent_id' : ''}
          WHERE ${where.join(' AND ')}
          ORDER BY s.${column} ${direction}, s.id ${direction} LIMIT ${value('$2', 'int')}`,
    params,
    backwards,
  };
}

/** Builds entities from raw `sessions` rows by the entity's own column metadata (transformers too). */
export function sessionFromRow(
  columns: ColumnMetadata[],
  row: Record<string, unknown>,
): SessionEntity {
  const session = {} as Record<string, unknown>;
  for (const column of columns) {
    const value = row[column.databaseName];
    const transformer = column.transformer;
    session[column.propertyName] =
      transformer && !Array.isArray(transformer) ? transformer.from(value) : value;
  }
  return session as unknown as SessionEntity;
}

const columnsOf = new WeakMap<EntityMetadata, ColumnMetadata[]>();

/** The session's columns for sessionFromRow: every one, except one a relation made up for itself. */
export function sessionColumns(metadata: EntityMetadata): ColumnMetadata[] {
  let columns = columnsOf.get(metadata);
  if (!columns) {
    // agent_id is a column of its own; the `agent` relation's column is not read.
    columns = metadata.columns.filter((c) => c.propertyName !== c.relationMetadata?.propertyName);
    columnsOf.set(metadata, columns);
  }
  return columns;
}
