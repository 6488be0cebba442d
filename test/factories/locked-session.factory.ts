import { toUnixSeconds } from 'src/database/transformers';
import { flattenItem, StoredItem } from 'src/protocol/items';
import { normalizeStreamEvent, RawStreamEvent, StreamEvent } from 'src/protocol/stream-events';
import { NewItem } from 'src/modules/sessions/items.repository';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionFields } from 'src/modules/sessions/sessions.repository';
import { SessionEventMap, SessionEventType } from 'src/modules/sessions/stream/session.events';

/** A LockedSession in memory that records what a unit of work did, for unit tests. */
export interface LockedSessionFake extends LockedSession {
  /** The fields patched, merged. */
  readonly patched: SessionFields;
  /** The events emitted or relayed, normalised, in order. */
  readonly events: StreamEvent[];
  /** The items upserted, in order. */
  readonly items: NewItem[];
  /** Turns whose terminal event this unit claimed (or that were claimed before it, if given). */
  readonly terminals: Set<string>;
  /** Makes the next upsert store nothing (an id that belongs to another item). */
  conflictOnUpsert(): void;
}

export function lockedSessionFactory(
  row: SessionEntity,
  terminals = new Set<string>(),
  itemCount: number | null = null,
): LockedSessionFake {
  let current = row;
  let conflict = false;
  const patched: SessionFields = {};
  const events: StreamEvent[] = [];
  const items: NewItem[] = [];
  return {
    get id() {
      return current.id;
    },
    get row() {
      return current;
    },
    itemCount,
    patched,
    events,
    items,
    terminals,
    claimTerminal(turnId) {
      if (terminals.has(turnId)) {
        return Promise.resolve(false);
      }
      terminals.add(turnId);
      return Promise.resolve(true);
    },
    afterCommit(callback) {
      // The fake commits as the work goes.
      callback();
    },
    conflictOnUpsert: () => {
      conflict = true;
    },
    patch(fields) {
      Object.assign(patched, fields);
      current = { ...current, ...fields };
    },
    upsertItems(batch): Promise<StoredItem[]> {
      if (conflict) {
        conflict = false;
        return Promise.resolve([]);
      }
      items.push(...batch);
      const createdAt = toUnixSeconds(new Date());
      return Promise.resolve(batch.map((item) => ({ ...item, created_at: createdAt })));
    },
    insertItems(batch) {
      if (conflict) {
        // The real unit fails when it writes them (the log's statement).
        conflict = false;
        throw new Error('Items not stored: an id belongs to another item');
      }
      items.push(...batch);
    },
    emitItem(item) {
      if (conflict) {
        conflict = false;
        return;
      }
      items.push(item);
      const stored = { ...item, created_at: toUnixSeconds(new Date()) };
      events.push(
        normalizeStreamEvent(
          { type: 'response.output_item.done', item: flattenItem(stored) } as RawStreamEvent,
          current.id,
        ),
      );
    },
    emit<K extends SessionEventType>(type: K, payload: SessionEventMap[K]) {
      events.push(normalizeStreamEvent({ type, ...payload } as RawStreamEvent, current.id));
    },
    relay(event) {
      events.push(normalizeStreamEvent(event, current.id));
    },
  };
}
