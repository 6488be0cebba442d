import { EntityManager } from 'typeorm';

import { Logger } from '@nestjs/common';

import { LiveEvent } from 'src/common/sse/event-stream';
import { flattenItem, StoredItem } from 'src/protocol/items';
import {
  isTransientEvent,
  normalizeStreamEvent,
  RawStreamEvent,
  StreamEvent,
} from 'src/protocol/stream-events';
import { ItemEntity } from 'src/modules/sessions/item.entity';
import { ItemsRepository, NewItem, TOUCH_SESSION } from 'src/modules/sessions/items.repository';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import type { SessionFields } from 'src/modules/sessions/sessions.repository';
import { SessionEventEntity } from 'src/modules/sessions/stream/session-event.entity';
import {
  itemsNotStoredError,
  RowGuard,
  SessionEventsRepository,
} from 'src/modules/sessions/stream/session-events.repository';
import { SessionEventMap, SessionEventType } from 'src/modules/sessions/stream/session.events';

/**
 * A session row locked for one unit of work (`SessionsRepository.withLockedSession`): reads see
 * the row as patched so far; field changes, items and stream events are written in the same
 * transaction when the work returns, so what is stored and what is logged never disagree.
 */
export interface LockedSession {
  readonly id: string;
  /** The row, with this unit's patches applied. */
  readonly row: SessionEntity;
  /**
   * How many items the session held when it was locked (read by the locking statement), or
   * null unless the unit asked for it (`UnitOptions.countItems`).
   */
  readonly itemCount: number | null;
  patch(fields: SessionFields): void;
  /** Inserts or updates items of this session (see `ItemsRepository.upsert`). */
  upsertItems(items: NewItem[]): Promise<StoredItem[]>;
  /**
   * Queues items to store whose events do not need the stored rows (ids the caller minted):
   * written by the statement that logs the unit's events, one round trip less than
   * `upsertItems` (the POST's message, on the path to the turn's first delta). The unit fails
   * if one of them is not stored (its id belongs to another item).
   */
  insertItems(items: NewItem[]): void;
  /**
   * Queues an item to store and its `response.output_item.done`, in this place of the stream.
   * All of a unit's queued items are written by one statement when the unit is written (runner
   * ingest applies hundreds of events per unit); an item whose id belongs to another item (other
   * type, turn or author) is not stored and its event is dropped.
   */
  emitItem(item: NewItem): void;
  /**
   * Records that turn `turnId` ended with `type`, in this unit's transaction. False when the
   * turn already has its terminal event: the caller must then write none (one per turn).
   */
  claimTerminal(turnId: string, type: string): Promise<boolean>;
  /** Runs `callback` once the unit committed (never when it fails, nor twice when it runs again). */
  afterCommit(callback: () => void): void;
  /** Queues an event for this session's stream (normalised now: a bad payload throws here). */
  emit<K extends SessionEventType>(type: K, payload: SessionEventMap[K]): void;
  /** Queues an event that is already a complete stream event (relayed from a runner). */
  relay(event: StreamEvent): void;
}

/**
 * Items of `emitItem` a unit writes with its log statement at most; more (a runner's backlog
 * ingested in one unit) go in a statement of their own first, as the stored rows' `created_at`
 * spliced into hundreds of events costs PostgreSQL more than the round trip it saves.
 */
export const MAX_ITEMS_WITH_LOG = 16;

/** A statement with its `$n` parameters. */
export interface UnitStatement {
  sql: string;
  params: unknown[];
}

/**
 * Commits a unit of work, sending `last` (its last write) with the COMMIT, in one round trip
 * when it can; resolves `last`'s rows. A failure of either rolls the whole unit back.
 */
export type UnitCommit = (last: UnitStatement | null) => Promise<Record<string, unknown>[]>;

/**
 * Thrown in an optimistic unit of work (one that did not lock the row first:
 * `UnitOptions.optimistic`) by what needs the lock (a statement of its own, items written
 * apart, a write that logs nothing), and by its commit when the row is no longer the version it
 * read (or a terminal it claims was claimed before): nothing was written, and the unit runs
 * again on the locked row.
 */
export class UnitNeedsLock extends Error {
  constructor(reason: string) {
    super(`The unit needs the row lock: ${reason}`);
  }
}

/** The transactional LockedSession the repository hands out (it alone holds the manager). */
export class LockedSessionUnit implements LockedSession {
  private readonly changes: SessionFields = {};
  /** Events in order; a pendingItem stands for the `output_item.done` of an item not yet stored. */
  private readonly emitted: (StreamEvent | { pendingItem: NewItem })[] = [];
  private current: SessionEntity;
  /** Whether this unit wrote items: the row must then change too (SessionReadsService's keys). */
  private itemsWritten = false;
  /** Items for the log's statement (`insertItems`). */
  private readonly withLog: NewItem[] = [];

  /** Whether items were written by statements of their own (their count is not known). */
  private itemsApart = false;
  /** Terminals claimed by an optimistic unit: its guarded statement claims them. */
  private readonly terminals: { turnId: string; type: string }[] = [];
  private readonly committedCallbacks: (() => void)[] = [];

  /**
   * `guard`: the row's version (and item count) when it was read without a lock (an optimistic
   * unit): the log's statement writes only if the row still has it, and what needs the lock
   * (a statement of its own) throws UnitNeedsLock.
   */
  constructor(
    private readonly manager: EntityManager,
    row: SessionEntity,
    readonly itemCount: number | null = null,
    private readonly guard?: RowGuard,
  ) {
    this.current = row;
  }

  /** Whether the unit wrote items by statements of their own (`upsertItems`, a backlog). */
  get wroteItemsApart(): boolean {
    return this.itemsApart;
  }

  get id(): string {
    return this.current.id;
  }

  get row(): SessionEntity {
    return this.current;
  }

  patch(fields: SessionFields): void {
    Object.assign(this.changes, fields);
    this.current = { ...this.current, ...fields };
  }

  upsertItems(items: NewItem[]): Promise<StoredItem[]> {
    this.needsLock('items written apart');
    this.itemsWritten ||= items.length > 0;
    this.itemsApart ||= items.length > 0;
    return new ItemsRepository(this.manager.getRepository(ItemEntity)).upsert(
      this.manager,
      this.id,
      items,
    );
  }

  insertItems(items: NewItem[]): void {
    this.itemsWritten ||= items.length > 0;
    this.withLog.push(...items);
  }

  emitItem(item: NewItem): void {
    this.emitted.push({ pendingItem: item });
  }

  async claimTerminal(turnId: string, type: string): Promise<boolean> {
    if (this.guard !== undefined) {
      // Claimed by the guarded statement, which fails (and the unit runs again, locked, where
      // the claim is answered) unless it claims every one.
      if (!this.terminals.some((t) => t.turnId === turnId)) {
        this.terminals.push({ turnId, type });
        return true;
      }
      return false;
    }
    const rows: unknown[] = await this.manager.query(
      `INSERT INTO turn_terminals (session_id, turn_id, type) VALUES ($1, $2, $3)
       ON CONFLICT (session_id, turn_id) DO NOTHING RETURNING turn_id`,
      [this.id, turnId, type],
    );
    return rows.length > 0;
  }

  afterCommit(callback: () => void): void {
    this.committedCallbacks.push(callback);
  }

  /** Called by the repository once the unit committed. */
  committed(): void {
    for (const callback of this.committedCallbacks) {
      callback();
    }
  }

  emit<K extends SessionEventType>(type: K, payload: SessionEventMap[K]): void {
    // The map derives each payload from its event type, so type + payload is that event.
    this.emitted.push(normalizeStreamEvent({ type, ...payload } as RawStreamEvent, this.id));
  }

  relay(event: StreamEvent): void {
    this.emitted.push(normalizeStreamEvent(event, this.id));
  }

  /**
   * Inside the transaction, once the work is done: writes the patch, logs the durable events
   * with their stream seqs, and commits: the unit's last write goes with its COMMIT (`commit`,
   * one round trip). Returns every event in order for publishing after the commit.
   */
  async finish(commit: UnitCommit): Promise<LiveEvent<StreamEvent>[]> {
    const queued = this.emitted.flatMap((e) => ('pendingItem' in e ? [e.pendingItem] : []));
    const { events, items, itemOf } =
      queued.length > MAX_ITEMS_WITH_LOG
        ? { events: await this.storeItemsApart(queued), items: [], itemOf: () => undefined }
        : this.itemEvents(queued);
    const durable = events.filter((event) => !isTransientEvent(event.type));
    if (this.guard !== undefined && durable.length === 0) {
      // Only the log's statement carries the guard (and returns the version it wrote).
      this.needsLock('nothing to log');
    }
    let withLog = this.withLog;
    if (withLog.length > 0 && durable.length === 0) {
      // Nothing to log: the items go alone, as upsertItems would write them.
      const stored = await this.upsertItems(withLog);
      if (stored.length < withLog.length) {
        throw new Error(`Items of session ${this.id} not stored: an id belongs to another item`);
      }
      withLog = [];
    }
    // The row's changes go with the log's seq bump: one UPDATE of the session per unit; the
    // items of `emitItem` go with it too (one round trip less per runner unit that has some).
    const append = new SessionEventsRepository(
      this.manager.getRepository(SessionEventEntity),
    ).appendStatement(
      this.id,
      durable,
      this.changes,
      withLog,
      { items, itemOf },
      this.guard && { ...this.guard, terminals: this.terminals },
    );
    let last: UnitStatement | null = append;
    if (!last && this.itemsWritten) {
      last = { sql: TOUCH_SESSION, params: [this.id] };
    }
    let rows: Record<string, unknown>[];
    try {
      rows = await commit(last);
    } catch (error) {
      throw itemsNotStoredError(error, this.id) ?? error;
    }
    const seqs = new Map((append?.read(rows) ?? []).map(({ seq, event }) => [event, seq]));
    return events.flatMap((event) => {
      const seq = seqs.get(event);
      const item = itemOf(event);
      if (item && seq === undefined) {
        new Logger('Items').warn(`Item ${item.id} conflicts with an existing item; dropped`);
        return [];
      }
      return [{ seq: seq ?? null, event }];
    });
  }

  /**
   * Writes the queued items in one statement of their own; returns the events with theirs in
   * place (built from the stored rows; an item whose id belongs to another item is dropped).
   */
  private async storeItemsApart(queued: NewItem[]): Promise<StreamEvent[]> {
    const stored = new Map(
      (await this.upsertItems(queued)).map((item) => [item.id, item] as const),
    );
    return this.emitted.flatMap((e) => {
      if (!('pendingItem' in e)) {
        return [e];
      }
      const item = stored.get(e.pendingItem.id);
      if (!item) {
        new Logger('Items').warn(
          `Item ${e.pendingItem.id} conflicts with an existing item; dropped`,
        );
        return [];
      }
      return [
        normalizeStreamEvent(
          { type: 'response.output_item.done', item: flattenItem(item) } as RawStreamEvent,
          this.id,
        ),
      ];
    });
  }

  private needsLock(reason: string): void {
    if (this.guard !== undefined) {
      throw new UnitNeedsLock(reason);
    }
  }

  /**
   * The unit's events with each queued item's `output_item.done` in its place (the item as it
   * will be stored: a repeated id's last content), and the items to store with them.
   */
  private itemEvents(items: NewItem[]): {
    events: StreamEvent[];
    items: NewItem[];
    itemOf(event: StreamEvent): { id: string; rowTime: boolean } | undefined;
  } {
    const merged = new Map<string, NewItem>();
    for (const item of items) {
      merged.set(item.id, { ...(merged.get(item.id) ?? {}), ...item });
    }
    const ofEvent = new Map<StreamEvent, { id: string; rowTime: boolean }>();
    const events = this.emitted.map((e) => {
      if (!('pendingItem' in e)) {
        return e;
      }
      const item = merged.get(e.pendingItem.id)!;
      // created_at is the stored row's: the log's statement writes it into the event.
      const event = normalizeStreamEvent(
        {
          type: 'response.output_item.done',
          item: flattenItem({ ...item, created_at: 0 }),
        } as RawStreamEvent,
        this.id,
      );
      ofEvent.set(event, { id: item.id, rowTime: !Object.hasOwn(item.data, 'created_at') });
      return event;
    });
    this.itemsWritten ||= items.length > 0;
    return { events, items, itemOf: (event) => ofEvent.get(event) };
  }
}
