import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Driver, EntityManager, EntityMetadata, Repository } from 'typeorm';

import { affectedOf, rowsOf } from 'src/database/transformers';
import { LoggedEvent as Logged } from 'src/common/sse/event-stream';
import { RawStreamEvent, StreamEvent } from 'src/protocol/stream-events';
import { itemsUpsert, NewItem } from 'src/modules/sessions/items.repository';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import type { SessionFields } from 'src/modules/sessions/sessions.repository';
import { SessionEventEntity } from 'src/modules/sessions/stream/session-event.entity';

export type LoggedEvent = Logged<StreamEvent>;

/** A statement that logs a unit's events, and how its rows read (`appendStatement`). */
export interface AppendStatement<E> {
  sql: string;
  params: unknown[];
  read(rows: Record<string, unknown>[]): Logged<E>[];
}

/**
 * The session row's version (its `xmin`, as text), as the log's statement (with the columns
 * PostgreSQL computed) and the locking statement return it: what a unit needs to know the row
 * it left.
 */
export const ROW_VERSION = 'row_version__';
/** How many of the statement's items were new rows (not updates of existing ones). */
export const NEW_ITEMS = 'new_items__';

/**
 * What a guarded statement (`appendStatement`'s `guard`) fails with when the row is not the
 * version it expected: an error (as ITEMS_NOT_STORED), so that nothing of it (items included)
 * is committed.
 */
const ROW_CHANGED = 'omnigent_row_changed';

/** Whether `error` is a guarded statement's (the row changed since it was read). */
export function isRowChangedError(error: unknown): boolean {
  return failedCast(error, ROW_CHANGED);
}

/**
 * The version a guarded statement expects of the row, and of its item count when given; the
 * turns whose terminal event it claims (`turn_terminals`), each of which must be unclaimed.
 */
export interface RowGuard {
  version: string;
  itemCount?: number;
  terminals?: { turnId: string; type: string }[];
}

/**
 * What the log's statement says when one of its items was not stored: SQL has no RAISE, so it
 * fails a cast whose text is this (the count makes the cast depend on the rows, so it is never
 * folded into a constant and evaluated when it is not reached).
 */
const ITEMS_NOT_STORED = 'omnigent_items_not_stored';

/** The error a unit fails with when an item's id belongs to another item, or null. */
export function itemsNotStoredError(error: unknown, sessionId: string): Error | null {
  return failedCast(error, ITEMS_NOT_STORED)
    ? new Error(`Items of session ${sessionId} not stored: an id belongs to another item`)
    : null;
}

/** Whether `error` is the failed cast (22P02) a statement made on purpose, whose text is `marker`. */
function failedCast(error: unknown, marker: string): boolean {
  const driver = (error as { driverError?: { code?: string; message?: string } } | null)
    ?.driverError;
  return driver?.code === '22P02' && driver.message?.includes(marker) === true;
}

@Injectable()
export class SessionEventsRepository {
  constructor(
    @InjectRepository(SessionEventEntity) private readonly log: Repository<SessionEventEntity>,
  ) {}

  /**
   * Inside the caller's transaction: gives each event the next stream seq of the session
   * (`sessions.log_seq`, row-locked by the UPDATE) and logs it. Also bumps `updated_at`, and
   * writes the unit's other session `fields` in the same UPDATE (one round trip, not two).
   * `items` (upserted as by `ItemsRepository.upsert`) are written by the same statement when
   * there are events to log; the statement fails, and the caller's transaction must roll back,
   * if one of them was not stored (its id belongs to another item).
   */
  async append<E extends StreamEvent | RawStreamEvent>(
    manager: EntityManager,
    sessionId: string,
    events: readonly E[],
    fields: SessionFields = {},
    items: NewItem[] = [],
  ): Promise<Logged<E>[]> {
    const statement = this.appendStatement(sessionId, events, fields, items);
    if (!statement) {
      return [];
    }
    let raw: unknown;
    try {
      raw = await manager.query(statement.sql, statement.params);
    } catch (error) {
      throw itemsNotStoredError(error, sessionId) ?? error;
    }
    return statement.read(rowsOf<Record<string, unknown>>(raw));
  }

  /**
   * The statement of `append`, for the caller to send (a unit of work sends it with its
   * COMMIT: `LockedSessionUnit.finish`); `read` turns its rows into the logged events. Null when
   * there is nothing to write.
   *
   * `emitted` are the items of `response.output_item.done` events among `events` (`itemOf`
   * names an event's item): upserted by the same statement; an event whose item is not stored
   * (its id belongs to another item) is not logged, and the other events' seqs close up; an
   * event whose `item.created_at` is the row's (`itemOf(event).rowTime`) gets the stored row's,
   * in the log and in what `read` returns (the event objects are updated in place).
   *
   * Its row also carries the session row's new version (`ROW_VERSION`), `updated_at` and how
   * many items were new (`NEW_ITEMS`). With `guard` (a version read before, and the item count
   * then), the statement fails (isRowChangedError) unless the row still has that version (and
   * the session that many items): nothing of it is written (an optimistic unit of work,
   * `SessionsRepository.withLockedSession`).
   */
  appendStatement<E extends StreamEvent | RawStreamEvent>(
    sessionId: string,
    events: readonly E[],
    fields: SessionFields = {},
    items: NewItem[] = [],
    emitted: {
      items: NewItem[];
      itemOf(event: E): { id: string; rowTime: boolean } | undefined;
    } = {
      items: [],
      itemOf: () => undefined,
    },
    guard?: RowGuard,
  ): AppendStatement<E> | null {
    if (events.length === 0 && items.length > 0) {
      throw new Error('append: items are written with logged events only');
    }
    if (guard && events.length === 0) {
      throw new Error('append: a guarded statement logs events');
    }
    if (events.length === 0) {
      if (Object.keys(fields).length === 0) {
        return null;
      }
      const params: unknown[] = [];
      const sql = this.sessionUpdate(fields, sessionId, params);
      return { sql, params, read: () => [] };
    }
    const withItems = emitted.items.length > 0;
    const params: unknown[] = [];
    const update = `${this.sessionUpdate(
      {
        ...fields,
        // From `ev`, not the count as a literal: the text stays the same whatever the number of
        // events, so one prepared statement serves every unit of its shape (SessionUnits).
        logSeq: () => 'log_seq + (SELECT count(*) FROM ev)',
      },
      sessionId,
      params,
      guard,
    )} RETURNING "log_seq", "updated_at", xmin::text AS ${ROW_VERSION}`;
    // One statement, not two: the seq bump (with the row's other changes) and the log rows,
    // which take their seqs from the UPDATE's result (each unit of work is one round trip
    // shorter, three per turn; issue 12, POST → first delta).
    // Items too, when given (the POST's message: its unit is one round trip shorter again).
    // Their check is the statement's own (an error, not a row to look at), so the statement
    // can go with the unit's COMMIT: a clash fails it, and the unit rolls back.
    // Emitted items (runner ingest's `output_item.done`) likewise: their events keep only
    // the items stored, with the stored rows' created_at.
    const n = params.length;
    const all = [...emitted.items, ...items];
    const upsert = all.length > 0 ? itemsUpsert(all, n + 4) : null;
    const must = [...new Set(items.map((item) => item.id))];
    const records = JSON.stringify(
      events.map((event, i) => {
        const item = withItems ? emitted.itemOf(event) : undefined;
        return {
          i: i + 1,
          type: event.type,
          payload: event,
          ...(item ? { item: item.id, at: item.rowTime } : {}),
        };
      }),
    );
    const stored = upsert
      ? `stored AS (${upsert.sql} RETURNING id, floor(extract(epoch FROM created_at))::float8 AS at,
           xmax::text = '0' AS fresh),`
      : '';
    const ev = withItems
      ? `ev AS (
           SELECT row_number() OVER (ORDER BY x.i) AS k, x.i, x.type,
             CASE WHEN x.at THEN jsonb_set(x.payload, '{item,created_at}', to_jsonb(s.at))
               ELSE x.payload END AS payload
           FROM jsonb_to_recordset($${n + 3}::jsonb)
             AS x(i bigint, type text, payload jsonb, item text, at boolean)
           LEFT JOIN stored s ON s.id = x.item
           WHERE x.item IS NULL OR s.id IS NOT NULL),`
      : `ev AS (
           SELECT x.i AS k, x.i, x.type, x.payload
           FROM jsonb_to_recordset($${n + 3}::jsonb) AS x(i bigint, type text, payload jsonb)),`;
    const check =
      must.length > 0
        ? `, CASE WHEN (SELECT count(*) FROM stored WHERE $${n + 6}::jsonb ? stored.id) = ${must.length}
             THEN 0
             ELSE ('${ITEMS_NOT_STORED}: ' || (SELECT count(*) FROM stored))::int END AS checked`
        : '';
    // `sent` is read by nobody: it keeps `$n + 2` (the event count, which this path takes from
    // `ev` instead) referenced, so the parameter list is the same on both paths and PostgreSQL
    // can type every parameter when the statement goes parameterised (not inlined).
    const kept = withItems
      ? `, (SELECT json_agg(json_build_array(id, at)) FROM stored) AS kept,
           (SELECT json_agg(i) FROM ev) AS logged, $${n + 2}::int AS sent`
      : '';
    const fresh = upsert ? `, (SELECT count(*)::int FROM stored WHERE fresh) AS ${NEW_ITEMS}` : '';
    // $n+1 … as the statement above reads them.
    const values = [
      ...params,
      sessionId,
      events.length,
      records,
      ...(upsert ? [sessionId, upsert.json] : []),
      ...(must.length > 0 ? [JSON.stringify(must)] : []),
    ];
    const terminals = guard?.terminals ?? [];
    let claimed = '';
    let unclaimed = '';
    if (terminals.length > 0) {
      values.push(JSON.stringify(terminals.map((t) => ({ turn_id: t.turnId, type: t.type }))));
      claimed = `claimed AS (
           INSERT INTO turn_terminals (session_id, turn_id, type)
           SELECT $${n + 1}, x.turn_id, x.type
           FROM jsonb_to_recordset($${values.length}::jsonb) AS x(turn_id text, type text)
           ON CONFLICT (session_id, turn_id) DO NOTHING RETURNING turn_id),`;
      unclaimed = ` OR (SELECT count(*) FROM claimed) <> ${terminals.length}`;
    }
    // Guarded: one row whatever the UPDATE did, failing when it changed none (or a terminal
    // was claimed before).
    const from = guard
      ? `FROM (SELECT 1) AS one LEFT JOIN u ON true
         WHERE CASE WHEN u.log_seq IS NULL${unclaimed}
           THEN ('${ROW_CHANGED}: ' || (SELECT count(*) FROM u))::int ELSE 0 END = 0`
      : 'FROM u';
    const sql = `WITH ${stored} ${claimed} ${ev}
       u AS (${update}),
       logged AS (
         INSERT INTO session_event_log (session_id, seq, type, payload)
         SELECT $${n + 1}, u.log_seq - ${withItems ? '(SELECT count(*) FROM ev)' : `$${n + 2}`} + ev.k, ev.type, ev.payload
         FROM u CROSS JOIN ev)
       SELECT u.log_seq, u.updated_at, u.${ROW_VERSION}${check}${kept}${fresh} ${from}`;
    return {
      sql,
      params: values,
      read: (rows) => {
        if (rows.length === 0) {
          return [];
        }
        const last = Number(rows[0].log_seq);
        let written: readonly E[] = events;
        if (withItems) {
          const kept = (rows[0].kept as [string, number][] | null) ?? [];
          const at = new Map(kept);
          const loggedAt = new Set((rows[0].logged as number[] | null) ?? []);
          written = events.filter((event, i) => {
            const item = emitted.itemOf(event);
            if (item?.rowTime && at.has(item.id)) {
              (event as unknown as { item: { created_at: number } }).item.created_at = at.get(
                item.id,
              )!;
            }
            return loggedAt.has(i + 1);
          });
        }
        return written.map((event, i) => ({ seq: last - written.length + 1 + i, event }));
      },
    };
  }

  /**
   * `UPDATE "sessions" SET … WHERE "id" = …` of `fields` (a value may be a function giving SQL),
   * its values pushed onto `params` as TypeORM's update builder prepares them (transformers,
   * jsonb as JSON), `updated_at` set to CURRENT_TIMESTAMP unless given; the guard's conditions
   * when given. Written here, not by the builder: it cost ~0.3 ms of CPU per unit of work,
   * three units per turn (issue 12).
   */
  private sessionUpdate(
    fields: Record<string, unknown>,
    sessionId: string,
    params: unknown[],
    guard?: RowGuard,
  ): string {
    const { metadata, driver } = this.sessionTable();
    const sets: string[] = [];
    for (const [property, value] of Object.entries(fields)) {
      const column = metadata.findColumnWithPropertyName(property);
      if (!column) {
        throw new Error(`append: sessions has no column for ${property}`);
      }
      if (!column.isUpdate) {
        continue;
      }
      if (typeof value === 'function') {
        sets.push(`"${column.databaseName}" = ${(value as () => string)()}`);
        continue;
      }
      params.push(driver.preparePersistentValue(value, column));
      sets.push(`"${column.databaseName}" = $${params.length}`);
    }
    const updated = metadata.updateDateColumn;
    if (updated && !Object.hasOwn(fields, updated.propertyName)) {
      sets.push(`"${updated.databaseName}" = CURRENT_TIMESTAMP`);
    }
    params.push(sessionId);
    const id = `$${params.length}`;
    let where = `"id" = ${id}`;
    if (guard) {
      params.push(guard.version);
      where += ` AND xmin::text = $${params.length}`;
      if (guard.itemCount !== undefined) {
        params.push(guard.itemCount);
        where += ` AND (SELECT count(*) FROM items WHERE session_id = ${id}) = $${params.length}`;
      }
    }
    return `UPDATE "sessions" SET ${sets.join(', ')} WHERE ${where}`;
  }

  private sessionTable(): { metadata: EntityMetadata; driver: Driver } {
    const connection = this.log.manager.connection;
    return { metadata: connection.getMetadata(SessionEntity), driver: connection.driver };
  }

  async currentSeq(sessionId: string): Promise<number | null> {
    const rows: { log_seq: string }[] = await this.log.query(
      `SELECT log_seq FROM sessions WHERE id = $1`,
      [sessionId],
    );
    return rows.length === 0 ? null : Number(rows[0].log_seq);
  }

  /** Logged events with `after < seq <= upTo`, in order, at most `limit`. */
  async range(
    sessionId: string,
    after: number,
    upTo: number,
    limit: number,
  ): Promise<LoggedEvent[]> {
    const rows = await this.log
      .createQueryBuilder('e')
      .where('e.sessionId = :sessionId AND e.seq > :after AND e.seq <= :upTo', {
        sessionId,
        after,
        upTo,
      })
      .orderBy('e.seq', 'ASC')
      .limit(limit)
      .getMany();
    // Only `append` writes the log, and it is given normalised events.
    return rows.map((r) => ({ seq: r.seq, event: r.payload as unknown as StreamEvent }));
  }

  /** The oldest seq still kept, or null when nothing is logged. */
  async oldestSeq(sessionId: string): Promise<number | null> {
    const rows: { min: string | null }[] = await this.log.query(
      `SELECT min(seq) AS min FROM session_event_log WHERE session_id = $1`,
      [sessionId],
    );
    return rows[0]?.min === null || rows[0]?.min === undefined ? null : Number(rows[0].min);
  }

  /** Keeps the newest `retention` events of every session; returns how many rows went. */
  async prune(retention: number): Promise<number> {
    return affectedOf(
      await this.log.query(
        `DELETE FROM session_event_log l USING sessions s
         WHERE l.session_id = s.id AND s.log_seq > $1 AND l.seq <= s.log_seq - $1`,
        [retention],
      ),
    );
  }
}
