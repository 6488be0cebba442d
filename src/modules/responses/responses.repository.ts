import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { toUnixSeconds } from 'src/database/transformers';
import { StoredItem } from 'src/protocol/items';
import { ResponseEntity } from 'src/modules/responses/response.entity';
import { ItemEntity } from 'src/modules/sessions/item.entity';

/** How a turn ended (`turn_terminals`): its terminal event type and when. */
export interface TurnEnd {
  type: string;
  at: Date;
}

/** What the turn behind a response has recorded so far. */
export interface TurnRecord {
  end: TurnEnd | null;
  /** Its items in conversation order (the user's input included). */
  items: StoredItem[];
  /** Token usage its terminal event reported (null while it runs, or once that event is pruned). */
  usage: Record<string, unknown> | null;
}

/**
 * The responses table, and the reads of a turn a response needs (its items and its end). Items
 * and `turn_terminals` are written by the sessions feature only; this reads them.
 */
@Injectable()
export class ResponsesRepository {
  constructor(
    @InjectRepository(ResponseEntity) private readonly responses: Repository<ResponseEntity>,
  ) {}

  async insert(row: Omit<ResponseEntity, 'createdAt'>): Promise<ResponseEntity> {
    return this.responses.save(this.responses.create(row));
  }

  getById(id: string): Promise<ResponseEntity | null> {
    return this.responses.findOneBy({ id });
  }

  /** Deletes the response; returns how many responses its session still has. */
  async delete(row: ResponseEntity): Promise<number> {
    await this.responses.delete({ id: row.id });
    return this.responses.countBy({ sessionId: row.sessionId });
  }

  async turn(sessionId: string, responseId: string): Promise<TurnRecord> {
    const [ends, items] = await Promise.all([
      this.responses.query(
        `SELECT type, created_at FROM turn_terminals WHERE session_id = $1 AND turn_id = $2`,
        [sessionId, responseId],
      ) as Promise<{ type: string; created_at: Date }[]>,
      this.responses.manager
        .getRepository(ItemEntity)
        .find({ where: { sessionId, responseId }, order: { position: 'ASC' } }),
    ]);
    const end = ends[0] ? { type: ends[0].type, at: new Date(ends[0].created_at) } : null;
    return {
      end,
      items: items.map(toStoredItem),
      usage: end ? await this.usage(sessionId, responseId, end.type) : null,
    };
  }

  /** The `usage` of the turn's terminal event, from the session's event log. */
  private async usage(
    sessionId: string,
    responseId: string,
    type: string,
  ): Promise<Record<string, unknown> | null> {
    const rows: { usage: unknown }[] = await this.responses.query(
      `SELECT payload->'response'->'usage' AS usage FROM session_event_log
       WHERE session_id = $1 AND type = $2 AND payload->'response'->>'id' = $3
       ORDER BY seq DESC LIMIT 1`,
      [sessionId, type, responseId],
    );
    const usage = rows[0]?.usage;
    return typeof usage === 'object' && usage !== null ? (usage as Record<string, unknown>) : null;
  }

  /** The turn an item belongs to (the id `POST …/events` gave the user's message). */
  async turnOfItem(sessionId: string, itemId: string): Promise<string | null> {
    const item = await this.responses.manager
      .getRepository(ItemEntity)
      .findOneBy({ sessionId, id: itemId });
    return item?.responseId ?? null;
  }

  /** The session's latest turn: the turn of its last item (null for an empty session). */
  async latestTurn(sessionId: string): Promise<string | null> {
    const item = await this.responses.manager
      .getRepository(ItemEntity)
      .findOne({ where: { sessionId }, order: { position: 'DESC' } });
    return item?.responseId ?? null;
  }
}

function toStoredItem(item: ItemEntity): StoredItem {
  return {
    id: item.id,
    response_id: item.responseId,
    type: item.type,
    status: item.status,
    created_at: toUnixSeconds(item.createdAt),
    created_by: item.createdBy,
    data: item.data,
  };
}
