import { ApiProperty } from '@nestjs/swagger';
import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

import {
  ValidateEnum,
  ValidateInt,
  ValidateString,
} from 'src/common/validation/validation.decorators';

export type SortOrder = 'asc' | 'desc';

/** Cursor pagination (spec/api-reference.md §1.5, §15.1). */
export class ListQueryDto {
  @ValidateInt({
    optional: true,
    min: 1,
    max: 1000,
    default: 20,
    description: 'Page size (1–1000).',
  })
  limit?: number;

  @ValidateString({ optional: true, maxLength: 200, description: 'Return the page after this id.' })
  after?: string;

  @ValidateString({
    optional: true,
    maxLength: 200,
    description: 'Return the page before this id.',
  })
  before?: string;

  @ValidateEnum(['asc', 'desc'] as const, 'SortOrder', { optional: true, default: 'desc' })
  order?: SortOrder;
}

export interface PageRequest {
  limit: number;
  order: SortOrder;
  after?: string;
  before?: string;
}

export function pageRequest(
  query: ListQueryDto,
  defaults: { limit?: number; order?: SortOrder } = {},
): PageRequest {
  return {
    limit: query.limit ?? defaults.limit ?? 20,
    order: query.order ?? defaults.order ?? 'desc',
    after: query.after,
    before: query.before,
  };
}

export class ListEnvelopeDto {
  @ApiProperty({ example: 'list' }) object: 'list';
  @ApiProperty({ type: String, nullable: true }) first_id: string | null;
  @ApiProperty({ type: String, nullable: true }) last_id: string | null;
  @ApiProperty() has_more: boolean;
}

export interface ListEnvelope<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export function listEnvelope<T>(
  data: T[],
  hasMore: boolean,
  idOf: (row: T) => string,
): ListEnvelope<T> {
  return {
    object: 'list',
    data,
    first_id: data.length > 0 ? idOf(data[0]) : null,
    last_id: data.length > 0 ? idOf(data[data.length - 1]) : null,
    has_more: hasMore,
  };
}

/**
 * The cursor row: its id, and its sort key either as a value or as SQL that reads it from the
 * table. Timestamps must be read in SQL: PostgreSQL keeps microseconds, a JS Date only
 * milliseconds, so a Date would land between rows and skip or repeat them.
 */
export interface Cursor {
  id: string;
  sort?: unknown;
  /** A scalar subquery for the sort key; may use :cursorId. */
  sortSql?: string;
}

/**
 * Keyset pagination on (sortColumn, idColumn). `after` continues in the sort direction; `before`
 * returns the `limit` rows just before the cursor, still in sort order. Fetches one row more
 * than the limit to know `has_more` (whose meaning follows the direction of travel).
 */
export async function keysetPage<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  options: {
    sortColumn: string;
    idColumn: string;
    page: PageRequest;
    cursor?: Cursor;
    cursorIsBefore?: boolean;
  },
): Promise<{ rows: T[]; hasMore: boolean }> {
  const { sortColumn, idColumn, page, cursor } = options;
  const backwards = Boolean(cursor && options.cursorIsBefore);
  const ascending = (page.order === 'asc') !== backwards;
  if (cursor) {
    const op = ascending ? '>' : '<';
    const sortKey = cursor.sortSql ? `(${cursor.sortSql})` : ':cursorSort';
    qb.andWhere(`(${sortColumn}, ${idColumn}) ${op} (${sortKey}, :cursorId)`, {
      cursorSort: cursor.sort,
      cursorId: cursor.id,
    });
  }
  const direction = ascending ? 'ASC' : 'DESC';
  qb.orderBy(sortColumn, direction)
    .addOrderBy(idColumn, direction)
    .limit(page.limit + 1);
  const rows = await qb.getMany();
  const hasMore = rows.length > page.limit;
  const pageRows = rows.slice(0, page.limit);
  return { rows: backwards ? pageRows.reverse() : pageRows, hasMore };
}
