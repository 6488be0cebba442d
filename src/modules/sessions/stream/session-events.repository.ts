import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';

import { affectedOf, rowsOf } from 'src/database/transformers';
import { LoggedEvent as Logged } from 'src/common/sse/event-stream';
import { RawStreamEvent, StreamEvent } from 'src/protocol/stream-events';
import { itemsUpsert, NewItem } from 'src/modules/sessions/items.repository';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import type { SessionFields } from 'src/modules/sessions/sessions.repository';
import { SessionEventEntity } from 'src/modules/sessions/stream/session-event.entity';

export type LoggedEvent = Logged<StreamEvent>;

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
   * there are events to log; it throws, and the caller's transaction must roll back, if one of
   * them was not stored (its id belongs to another item).
   */
  async append<E extends StreamEvent | RawStreamEvent>(
    manager: EntityManager,
    sessionId: string,
    events: readonly E[],
    fields: SessionFields = {},
    items: NewItem[] = [],
  ): Promise<Logged<E>[]> {
    if (events.length === 0 && items.length > 0) {
      throw new Error('append: items are written with logged events only');
    }
    if (events.length === 0) {
      if (Object.keys(fields).length > 0) {
        await manager.getRepository(SessionEntity).update({ id: sessionId }, fields as never);
      }
      return [];
    }
    const [update, params] = manager
      .createQueryBuilder()
      .update(SessionEntity)
      .set({ ...fields, logSeq: () => `log_seq + ${events.length}` } as never)
      .where('id = :sessionId', { sessionId })
      .returning('log_seq')
      .getQueryAndParameters();
    // One statement, not two: the seq bump (with the row's other changes) and the log rows,
    // which take their seqs from the UPDATE's result (each unit of work is one round trip
    // shorter, three per turn; issue 12, POST → first delta).
    // Items too, when given (the POST's message: its unit is one round trip shorter again).
    const n = params.length;
    const upsert = items.length > 0 ? itemsUpsert(items, n + 4) : null;
    const raw: unknown = await manager.query(
      `WITH u AS (${update}),
       logged AS (
         INSERT INTO session_event_log (session_id, seq, type, payload)
         SELECT $${n + 1}, u.log_seq - $${n + 2} + x.i, x.type, x.payload
         FROM u CROSS JOIN jsonb_to_recordset($${n + 3}::jsonb) AS x(i bigint, type text, payload jsonb))
       ${upsert ? `, stored AS (${upsert.sql} RETURNING 1)` : ''}
       SELECT log_seq${upsert ? ', (SELECT count(*) FROM stored)::int AS stored' : ''} FROM u`,
      [
        ...params,
        sessionId,
        events.length,
        JSON.stringify(events.map((event, i) => ({ i: i + 1, type: event.type, payload: event }))),
        ...(upsert ? [sessionId, upsert.json] : []),
      ],
    );
    const rows = rowsOf<{ log_seq: string; stored?: number }>(raw);
    if (upsert && rows[0]?.stored !== upsert.unique.size) {
      throw new Error(`Items of session ${sessionId} not stored: an id belongs to another item`);
    }
    if (rows.length === 0) {
      return [];
    }
    const last = Number(rows[0].log_seq);
    const logged = events.map((event, i) => ({ seq: last - events.length + 1 + i, event }));
    return logged;
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
