import { Client as PgClient, escapeLiteral, QueryResult } from 'pg';
import { DataSource, EntityMetadata, QueryFailedError, QueryRunner } from 'typeorm';

import { LiveEvent } from 'src/common/sse/event-stream';
import { inlineParameters } from 'src/database/inline-parameters.util';
import { StatementNames } from 'src/database/prepared-query.util';
import { rowsOf } from 'src/database/transformers';
import { StreamEvent } from 'src/protocol/stream-events';
import { CommittedRow, CommittedRows } from 'src/modules/sessions/committed-rows.util';
import {
  LockedSession,
  LockedSessionUnit,
  UnitNeedsLock,
} from 'src/modules/sessions/locked-session';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { sessionColumns, sessionFromRow } from 'src/modules/sessions/session-list.util';
import {
  isRowChangedError,
  NEW_ITEMS,
  ROW_VERSION,
} from 'src/modules/sessions/stream/session-events.repository';

/** The outcome of a unit of work on a locked session: what to publish once it committed. */
export interface LockedWork<T> {
  result: T;
  events: LiveEvent<StreamEvent>[];
  /** The row as locked, and as the unit left it. */
  before: SessionEntity;
  after: SessionEntity;
}

/**
 * The largest last write sent with its COMMIT as one query (characters of its values): a turn's
 * units are far below it; a runner's backlog ingested in one unit (hundreds of events) costs more
 * to escape and for PostgreSQL to scan as literals than the round trip it would save.
 */
const MAX_INLINED_CHARS = 32_768;
/** Optimistic write texts prepared on each connection at most (`SessionUnits.names`). */
const UNIT_STATEMENTS = 32;

/** TypeORM's own bookkeeping of a query runner's transaction (what startTransaction sets). */
interface TransactionState {
  isTransactionActive: boolean;
  transactionDepth: number;
}

export interface UnitOptions {
  /**
   * Commit without waiting for the WAL flush (`synchronous_commit = off`): visible, and its
   * events published, at once; durable only once `walPositions().flush` passes it. For units
   * nobody is told of before then (runner ingest, whose acks wait for the flush).
   */
  asyncCommit?: boolean;
  /**
   * Read how many items the session holds with the locked row (`LockedSession.itemCount`): a
   * posted message's item quota, checked under the lock instead of by a read of its own.
   */
  countItems?: boolean;
  /**
   * Skip the locking round trip when this process committed the row's last version: `work`
   * runs on that row, and the unit's one round trip (its log statement guarded by the version,
   * alone as a prepared statement, or inlined between START TRANSACTION and COMMIT) writes only
   * if the row still has it. When it does not, or when `work` needs the lock (a statement of its
   * own, nothing to log: UnitNeedsLock) or throws, nothing is written and `work` runs again on
   * the locked row: it must have no effect outside the unit that matters when it runs twice.
   * With `countItems`, only when the item count is known too (the guard checks it as well).
   */
  optimistic?: boolean;
}

/**
 * `opening` (statements of the transaction, if it is not open yet), the unit's last write
 * (`write`; none: the COMMIT alone) and the COMMIT, as one simple-protocol query; PostgreSQL
 * skips the COMMIT when something before it fails, and the caller rolls back. Returns the
 * write's rows; a failure is a QueryFailedError, as TypeORM's own queries fail (the exception
 * filter reads `driverError`).
 */
async function commitWith(
  client: PgClient,
  tx: TransactionState,
  opening: string[],
  write: string | null,
): Promise<Record<string, unknown>[]> {
  const statements = [...opening, ...(write ? [write] : []), 'COMMIT'];
  let results: QueryResult<Record<string, unknown>> | QueryResult<Record<string, unknown>>[];
  try {
    results = (await client.query(statements.join('; '))) as unknown as typeof results;
  } catch (error) {
    throw new QueryFailedError(write ?? 'COMMIT', [], error as Error);
  }
  tx.isTransactionActive = false;
  tx.transactionDepth = 0;
  // One result per statement when there are several; the write's is the one before COMMIT's.
  return write && Array.isArray(results) ? results[results.length - 2].rows : [];
}

/**
 * An optimistic unit's one write alone, as a named prepared statement: a statement sent alone
 * is its own transaction (PostgreSQL commits it at the Sync after it, or rolls all of it back),
 * so it needs no START TRANSACTION or COMMIT around it, and PostgreSQL parses and plans its text
 * once per connection instead of once per unit (planning took ~0.4 ms of the ~1–1.5 ms
 * PostgreSQL spent on a turn's unit, three or four units a turn; issue 12). A failure is a
 * QueryFailedError, as `commitWith`'s.
 */
async function writeAlone(
  client: PgClient,
  names: StatementNames,
  write: { sql: string; params: unknown[] },
): Promise<Record<string, unknown>[]> {
  try {
    const result = await client.query<Record<string, unknown>>({
      name: names.name(write.sql),
      text: write.sql,
      values: write.params,
    });
    return result.rows;
  } catch (error) {
    throw new QueryFailedError(write.sql, [], error as Error);
  }
}

/** A unit of work's opening statements: the transaction and its settings. */
function unitStart(options: UnitOptions): string[] {
  return [
    'START TRANSACTION',
    ...(options.asyncCommit ? ['SET LOCAL synchronous_commit = off'] : []),
  ];
}

/**
 * The units of work on a locked session (`SessionsRepository.withLockedSession`, which owns
 * this): the locked unit (the row locked by the transaction's first statement) and the
 * optimistic one (the row this process last committed, the write guarded by its version), and
 * the rows they leave (`CommittedRows`).
 */
export class SessionUnits {
  /** What this process's units last committed, for optimistic units (`UnitOptions`). */
  private readonly committed = new CommittedRows();
  /**
   * The optimistic writes' texts (one per shape: which CTEs, which columns the patch sets),
   * prepared on each connection; a text past the budget runs unnamed.
   */
  private readonly names = new StatementNames(UNIT_STATEMENTS);

  /**
   * `prepared`: optimistic writes go as named prepared statements (`writeAlone`); false behind
   * a pooler that cannot keep them (`OMNIGENT_DB_PREPARED_STATEMENTS`), where they go with
   * their transaction's statements as one simple-protocol query, their values inlined.
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly metadata: EntityMetadata,
    private readonly prepared: boolean,
  ) {}

  /**
   * The unit of work of every turn-state change: locks the session row, runs `work`, then writes
   * its patch, items and durable stream events in the same transaction. Returns null (without
   * calling `work`) when the session does not exist; the caller publishes `events` after commit.
   */
  async run<T>(
    id: string,
    work: (session: LockedSession) => Promise<T>,
    options: UnitOptions = {},
  ): Promise<LockedWork<T> | null> {
    const known = options.optimistic ? this.committed.get(id) : undefined;
    if (known && (!options.countItems || known.itemCount !== undefined)) {
      try {
        return await this.optimisticUnit(id, known, work, options);
      } catch (error) {
        if (!(error instanceof UnitNeedsLock)) {
          throw error;
        }
        // Nothing was written: the row moved on, or the work needs the lock (or failed on a
        // row it cannot trust). The locked unit below remembers the row it leaves.
        this.committed.delete(id);
      }
    }
    return this.lockedUnit(id, work, options);
  }

  private lockedUnit<T>(
    id: string,
    work: (session: LockedSession) => Promise<T>,
    options: UnitOptions,
  ): Promise<LockedWork<T> | null> {
    return this.onConnection(async (runner, tx) => {
      const client = (await runner.connect()) as PgClient;
      tx.isTransactionActive = true;
      tx.transactionDepth = 1;
      // The transaction, its settings and the row lock in one round trip (simple protocol, so
      // the id goes as an escaped literal): every unit of work is on a turn's path, three of
      // them before its first delta reaches a client (issue 12).
      const results = (await client.query(
        [
          ...unitStart(options),
          options.countItems
            ? `SELECT s.*, s.xmin::text AS ${ROW_VERSION},
                 (SELECT count(*)::int FROM items i WHERE i.session_id = s.id) AS item_count__
               FROM sessions s WHERE s.id = ${escapeLiteral(id)} FOR UPDATE OF s`
            : `SELECT *, xmin::text AS ${ROW_VERSION} FROM sessions WHERE id = ${escapeLiteral(id)} FOR UPDATE`,
        ].join('; '),
      )) as unknown as QueryResult<Record<string, unknown>>[];
      const found = results[results.length - 1].rows[0];
      if (!found) {
        await runner.commitTransaction();
        return null;
      }
      const row = sessionFromRow(sessionColumns(this.metadata), found);
      const itemCount = options.countItems ? (found.item_count__ as number) : null;
      // The item count this process knew still holds if nothing changed the row since.
      const known = this.committed.get(id);
      const items =
        itemCount ?? (known && known.version === found[ROW_VERSION] ? known.itemCount : undefined);
      const session = new LockedSessionUnit(runner.manager, row, itemCount);
      const result = await work(session);
      let wrote = false;
      let written: Record<string, unknown> | undefined;
      const events = await session.finish(async (last) => {
        wrote = last !== null;
        // The last write and the COMMIT in one simple-protocol query, its values inlined as
        // literals (node-postgres sends one query at a time): one round trip less per unit.
        // PostgreSQL skips the COMMIT when the write fails; the catch below rolls back.
        const text = last && inlineParameters(last.sql, last.params, MAX_INLINED_CHARS);
        if (last && !text) {
          // A value a literal cannot carry: the write as a parameterised statement, as before.
          const rows = rowsOf<Record<string, unknown>>(await runner.query(last.sql, last.params));
          await runner.commitTransaction();
          written = rows[0];
          return rows;
        }
        const rows = await commitWith(client, tx, [], text);
        written = rows[0];
        return rows;
      });
      if (wrote) {
        this.remember(id, session, written, items);
      }
      session.committed();
      return { result, events, before: row, after: session.row };
    });
  }

  /**
   * `work` on the row this process last committed, then one round trip: the log statement
   * guarded by the row's version (and item count), alone (`writeAlone`) or inlined in its
   * transaction (`commitInlined`). UnitNeedsLock when the row is no longer that version (nothing
   * written), when the work needs the lock (nothing sent), or when it threw: an answer (a 403,
   * a quota) is given from the locked row only.
   */
  private optimisticUnit<T>(
    id: string,
    known: CommittedRow,
    work: (session: LockedSession) => Promise<T>,
    options: UnitOptions,
  ): Promise<LockedWork<T>> {
    return this.onConnection(async (runner, tx) => {
      const client = (await runner.connect()) as PgClient;
      const counted = options.countItems ? known.itemCount : undefined;
      const session = new LockedSessionUnit(runner.manager, known.row, counted ?? null, {
        version: known.version,
        itemCount: counted,
      });
      let result: T;
      try {
        result = await work(session);
      } catch (error) {
        throw error instanceof UnitNeedsLock
          ? error
          : new UnitNeedsLock(`the work failed (${(error as Error).message})`);
      }
      let written: Record<string, unknown> | undefined;
      const events = await session.finish(async (last) => {
        if (!last) {
          throw new UnitNeedsLock('nothing to write');
        }
        let rows: Record<string, unknown>[];
        try {
          // A setting of its own (asynchronous commit) needs the transaction around the write.
          rows =
            this.prepared && !options.asyncCommit
              ? await writeAlone(client, this.names, last)
              : await this.commitInlined(client, tx, options, last);
        } catch (error) {
          // The guard refused the write: none of it was committed (an open transaction is
          // rolled back below).
          throw isRowChangedError(error) ? new UnitNeedsLock('the row changed') : error;
        }
        written = rows[0];
        return rows;
      });
      this.remember(id, session, written, known.itemCount);
      session.committed();
      return { result, events, before: known.row, after: session.row };
    });
  }

  /** The transaction, the write with its values inlined and the COMMIT, as one query. */
  private commitInlined(
    client: PgClient,
    tx: TransactionState,
    options: UnitOptions,
    write: { sql: string; params: unknown[] },
  ): Promise<Record<string, unknown>[]> {
    const text = inlineParameters(write.sql, write.params, MAX_INLINED_CHARS);
    if (!text) {
      throw new UnitNeedsLock('a value a literal cannot carry');
    }
    tx.isTransactionActive = true;
    tx.transactionDepth = 1;
    return commitWith(client, tx, unitStart(options), text);
  }

  /**
   * `body` on a connection of its own, which it may begin a transaction on by hand (simple
   * protocol) keeping TypeORM's bookkeeping in `tx`: a transaction left open by an error is
   * rolled back (the original error is the one that counts, as in TypeORM's transaction()), and
   * the connection released.
   */
  private async onConnection<T>(
    body: (runner: QueryRunner, tx: TransactionState) => Promise<T>,
  ): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    const tx = runner as unknown as TransactionState;
    try {
      return await body(runner, tx);
    } catch (error) {
      if (tx.isTransactionActive) {
        await runner.rollbackTransaction().catch(() => undefined);
      }
      throw error;
    } finally {
      await runner.release();
    }
  }

  /**
   * After a unit wrote: the row it left, when its last statement returned the row's version
   * (the log's statement does), with the columns PostgreSQL computed, and the session's item
   * count when the one before the unit (`items`) is known and so is what the unit added;
   * otherwise nothing known.
   */
  private remember(
    id: string,
    session: LockedSessionUnit,
    written: Record<string, unknown> | undefined,
    items: number | undefined,
  ): void {
    const version = written?.[ROW_VERSION];
    if (typeof version !== 'string') {
      this.committed.delete(id);
      return;
    }
    const added = written![NEW_ITEMS];
    this.committed.set(
      id,
      {
        ...session.row,
        logSeq: Number(written!.log_seq),
        updatedAt: written!.updated_at as Date,
      },
      version,
      items === undefined || session.wroteItemsApart ? undefined : items + Number(added ?? 0),
    );
  }
}
