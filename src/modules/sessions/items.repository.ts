import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';

import { PageRequest } from 'src/common/pagination/pagination';
import { messageText, StoredItem } from 'src/protocol/items';
import { ItemEntity } from 'src/modules/sessions/item.entity';

export type NewItem = Omit<StoredItem, 'created_at'>;

// The columns of a StoredItem, named and typed as it is (float8 so `pg` gives a number; the
// floor matches toUnixSeconds).
const CREATED_AT_SECONDS = 'floor(extract(epoch FROM created_at))::float8 AS created_at';
const STORED_ITEM_COLUMNS = `id, response_id, type, status, ${CREATED_AT_SECONDS}, created_by, data`;

/**
 * SQL for a tsquery that matches every lexeme of `param` by prefix, tokenised by the same
 * `simple` parser as the indexed text (message text and session titles).
 */
export function prefixTsQuery(param: string): string {
  return `(SELECT to_tsquery('simple', string_agg(quote_literal(t.lexeme) || ':*', ' & ')) FROM unnest(to_tsvector('simple', ${param})) t)`;
}

/**
 * Writes a new version of the sessions row without changing it. Every items write changes the
 * session's row in its transaction (a unit's log_seq bump, or this), so the row's version
 * (`xmin`) covers the session's items too: SessionReadsService keys answers by it.
 */
export async function touchSession(manager: EntityManager, sessionId: string): Promise<void> {
  await manager.query(TOUCH_SESSION, [sessionId]);
}

/** The statement of `touchSession` (the session's id is `$1`). */
export const TOUCH_SESSION = 'UPDATE sessions SET log_seq = log_seq WHERE id = $1';

/**
 * The statement of `ItemsRepository.upsert` without its RETURNING: the session id is parameter
 * `$first`, the items (`json`) `$first + 1`, so it can also run inside a larger statement
 * (`SessionEventsRepository.append`). One statement for the whole list (runner ingest writes
 * hundreds per unit of work). A row may be affected once per statement, so a repeated id keeps
 * its first place and last content (`unique`: the items as written).
 */
export function itemsUpsert(
  items: NewItem[],
  first: number,
): { sql: string; json: string; unique: Map<string, NewItem> } {
  const unique = new Map<string, NewItem>();
  for (const item of items) {
    unique.set(item.id, { ...(unique.get(item.id) ?? {}), ...item });
  }
  const sql = `INSERT INTO items (session_id, id, response_id, type, status, data, created_by, text_content)
       SELECT $${first}, x.id, x.response_id, x.type, x.status, x.data, x.created_by, x.text_content
       FROM jsonb_to_recordset($${first + 1}::jsonb)
         AS x(ord int, id text, response_id text, type text, status text, data jsonb,
              created_by text, text_content text)
       ORDER BY x.ord
       ON CONFLICT (session_id, id) DO UPDATE SET
         status = EXCLUDED.status, data = EXCLUDED.data, text_content = EXCLUDED.text_content
       WHERE items.type = EXCLUDED.type AND items.response_id = EXCLUDED.response_id
         AND items.created_by IS NOT DISTINCT FROM EXCLUDED.created_by`;
  const json = JSON.stringify(
    [...unique.values()].map((item, ord) => ({
      ord,
      id: item.id,
      response_id: item.response_id,
      type: item.type,
      status: item.status,
      data: item.data,
      created_by: item.created_by,
      text_content: item.type === 'message' ? messageText(item.data) || null : null,
    })),
  );
  return { sql, json, unique };
}

@Injectable()
export class ItemsRepository {
  constructor(@InjectRepository(ItemEntity) private readonly items: Repository<ItemEntity>) {}

  /**
   * Inserts items; an item whose id already exists in the session is updated in place (runner
   * events are at-least-once, and a function call's status can change) if it is the same item:
   * same type, turn and author. Returns the rows stored.
   */
  async upsert(manager: EntityManager, sessionId: string, items: NewItem[]): Promise<StoredItem[]> {
    if (items.length === 0) {
      return [];
    }
    const statement = itemsUpsert(items, 1);
    const rows: { id: string; created_at: number }[] = await manager.query(
      `${statement.sql} RETURNING id, ${CREATED_AT_SECONDS}`,
      [sessionId, statement.json],
    );
    const unique = statement.unique;
    // No row: the id belongs to a different item (another type, turn or author): not ours to change.
    const createdAt = new Map(rows.map((row) => [row.id, row.created_at]));
    return items.flatMap((item) => {
      const at = createdAt.get(item.id);
      return at === undefined ? [] : [{ ...unique.get(item.id)!, created_at: at }];
    });
  }

  /** Stores items of a session in one transaction (history given at creation). */
  insertMany(sessionId: string, items: NewItem[]): Promise<StoredItem[]> {
    return this.items.manager.transaction(async (manager) => {
      const stored = await this.upsert(manager, sessionId, items);
      await touchSession(manager, sessionId);
      return stored;
    });
  }

  /**
   * A session's items in conversation order, for the snapshot. Raw rows in the stored shape (no
   * entity hydration, the timestamp already in Unix seconds): the snapshot's hot path (issue 12).
   */
  listAll(
    sessionId: string,
    limit: number,
    manager: EntityManager = this.items.manager,
  ): Promise<StoredItem[]> {
    return manager.query(
      `SELECT ${STORED_ITEM_COLUMNS} FROM items WHERE session_id = $1 ORDER BY position LIMIT $2`,
      [sessionId, limit],
    );
  }

  /**
   * A page of a session's items in conversation order; null when the cursor is unknown. Keyset
   * on (position, id) with the cursor's position read in the same statement; raw rows as in
   * `listAll`.
   */
  async page(
    sessionId: string,
    page: PageRequest,
  ): Promise<{ rows: StoredItem[]; hasMore: boolean } | null> {
    const cursorId = page.after ?? page.before;
    // `before` returns the rows just before the cursor, still in the requested order.
    const backwards = Boolean(cursorId && !page.after);
    const ascending = (page.order === 'asc') !== backwards;
    const direction = ascending ? 'ASC' : 'DESC';
    const params: unknown[] = [sessionId, page.limit + 1];
    let after = '';
    if (cursorId) {
      params.push(cursorId);
      after = ` AND (position, id) ${ascending ? '>' : '<'} ((SELECT c.position FROM items c WHERE c.session_id = $1 AND c.id = $3), $3)`;
    }
    const rows: StoredItem[] = await this.items.query(
      `SELECT ${STORED_ITEM_COLUMNS} FROM items WHERE session_id = $1${after}
       ORDER BY position ${direction}, id ${direction} LIMIT $2`,
      params,
    );
    if (cursorId && rows.length === 0 && !(await this.has(sessionId, cursorId))) {
      return null;
    }
    const hasMore = rows.length > page.limit;
    const pageRows = rows.slice(0, page.limit);
    return { rows: backwards ? pageRows.reverse() : pageRows, hasMore };
  }

  private async has(sessionId: string, id: string): Promise<boolean> {
    const rows: unknown[] = await this.items.query(
      `SELECT 1 FROM items WHERE session_id = $1 AND id = $2`,
      [sessionId, id],
    );
    return rows.length > 0;
  }

  /** Position of the last item of a response, or null when the session has no such response. */
  async lastPositionOfResponse(sessionId: string, responseId: string): Promise<number | null> {
    const row: { max: string | null }[] = await this.items.query(
      `SELECT max(position) AS max FROM items WHERE session_id = $1 AND response_id = $2`,
      [sessionId, responseId],
    );
    return row[0]?.max === null || row[0]?.max === undefined ? null : Number(row[0].max);
  }

  /** Copies a session's items (up to a position) into another session, keeping ids and order. */
  async copy(
    manager: EntityManager,
    fromSessionId: string,
    toSessionId: string,
    upToPosition: number | null,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO items (session_id, id, response_id, type, status, data, created_by, text_content, created_at)
       SELECT $2, id, response_id, type, status, data, created_by, text_content, created_at
       FROM items WHERE session_id = $1 AND ($3::bigint IS NULL OR position <= $3::bigint)
       ORDER BY position`,
      [fromSessionId, toSessionId, upToPosition],
    );
  }

  /** The latest message text of each session (child session previews). */
  async lastMessageTexts(sessionIds: string[]): Promise<Map<string, string>> {
    if (sessionIds.length === 0) {
      return new Map();
    }
    const rows: { session_id: string; text_content: string }[] = await this.items.query(
      `SELECT DISTINCT ON (session_id) session_id, text_content FROM items
       WHERE session_id = ANY($1) AND type = 'message' AND text_content IS NOT NULL
       ORDER BY session_id, position DESC`,
      [sessionIds],
    );
    return new Map(rows.map((r) => [r.session_id, r.text_content]));
  }

  /** Snippets of matching message text for search results (first hit per session). */
  async searchSnippets(sessionIds: string[], search: string): Promise<Map<string, string>> {
    if (sessionIds.length === 0) {
      return new Map();
    }
    const rows: { session_id: string; text_content: string }[] = await this.items.query(
      `SELECT DISTINCT ON (session_id) session_id, text_content FROM items
       WHERE session_id = ANY($1) AND text_content IS NOT NULL
         AND to_tsvector('simple', text_content) @@ ${prefixTsQuery('$2')}
       ORDER BY session_id, position`,
      [sessionIds, search],
    );
    return new Map(rows.map((r) => [r.session_id, r.text_content]));
  }
}
