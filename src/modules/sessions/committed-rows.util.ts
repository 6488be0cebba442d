import { SessionEntity } from 'src/modules/sessions/session.entity';

/** A session row as a unit of work of this process committed it, and its version (`xmin`). */
export interface CommittedRow {
  row: SessionEntity;
  version: string;
  /** How many items the session held then, when known. */
  itemCount?: number;
}

/**
 * How long a committed row is offered to an optimistic unit. Correctness never depends on it
 * (the unit writes only if the row still has the version), but a version is a 32-bit
 * transaction id that PostgreSQL reuses after about four billion transactions: an entry must
 * never live anywhere near that long.
 */
const TTL_MS = 30_000;
/** Sessions remembered at most (the oldest go first): a few MB of rows. */
const MAX_ROWS = 2_048;

/**
 * The session rows this process's units of work last committed (`SessionsRepository`): the
 * next unit of the same session can then skip its locking round trip and write guarded by the
 * version (issue 12: the ingest of a turn's `response.created` follows the POST's unit).
 */
export class CommittedRows {
  private readonly rows = new Map<string, CommittedRow & { at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(id: string): CommittedRow | undefined {
    const known = this.rows.get(id);
    if (known && this.now() - known.at > TTL_MS) {
      this.rows.delete(id);
      return undefined;
    }
    return known;
  }

  set(id: string, row: SessionEntity, version: string, itemCount?: number): void {
    this.rows.delete(id);
    this.rows.set(id, { row, version, itemCount, at: this.now() });
    if (this.rows.size > MAX_ROWS) {
      this.rows.delete(this.rows.keys().next().value!);
    }
  }

  delete(id: string): void {
    this.rows.delete(id);
  }

  get size(): number {
    return this.rows.size;
  }
}
