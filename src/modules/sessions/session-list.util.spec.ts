import fc from 'fast-check';

import { PageRequest } from 'src/common/pagination/pagination';
import {
  sessionListParams,
  sessionListShape,
  sessionListSql,
} from 'src/modules/sessions/session-list.util';
import type { SessionListFilters } from 'src/modules/sessions/sessions.repository';
import { listFilters, listPages } from 'test/utils/session-list-arbitraries';

/** A value of the same truthiness as `value` (what a query's shape sees of it), maybe another. */
function sameGiven<T extends string | undefined>(value: T, others: string[]): fc.Arbitrary<T> {
  return (value ? fc.constantFrom(...others) : fc.constantFrom('', undefined)) as fc.Arbitrary<T>;
}

/** A query and another of its shape, with other values (empty and absent values swapped). */
const twoOfOneShape = fc.tuple(listFilters, listPages).chain(([filters, page]) =>
  fc
    .record({
      ownerId: fc.constantFrom('u1', 'u2', 'u3'),
      agentId: sameGiven(filters.agentId, ['ag_1', 'ag_3']),
      agentName: sameGiven(filters.agentName, ['echo', 'third']),
      search: sameGiven(filters.search, ['foo', 'baz qux']),
      includeArchived: fc.constant(filters.includeArchived),
      sortBy: fc.constant(filters.sortBy),
      kind:
        filters.kind === 'any'
          ? fc.constant('any' as const)
          : fc.constantFrom('default' as const, 'sub_agent' as const),
      limit: fc.integer({ min: 1, max: 100 }),
      // A cursor is `after ?? before`: an empty `after` is no cursor, an absent one looks on.
      after: page.after ? fc.constantFrom('conv_c', 'conv_d') : fc.constant(page.after),
      before:
        page.after === undefined
          ? sameGiven(page.before, ['conv_e'])
          : fc.option(fc.constantFrom('', 'conv_e'), { nil: undefined }),
    })
    .map(({ limit, after, before, ...other }) => ({
      a: { filters, page },
      b: {
        filters: other as SessionListFilters,
        page: { limit, order: page.order, after, before },
      },
    })),
);

/** The numbers of the `$n` placeholders a statement's text names. */
function placeholders(sql: string): Set<number> {
  return new Set([...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
}

const KEY_OPTIONS = { withAgent: false, generic: true };

describe(sessionListSql.name, () => {
  it("should number sessionListParams' values, each of them, and no other", () => {
    fc.assert(
      fc.property(listFilters, listPages, fc.boolean(), (filters, page, generic) => {
        const { sql, params } = sessionListSql(filters, page, undefined, { generic });
        expect(params).toEqual(sessionListParams(filters, page));
        expect([...placeholders(sql)].sort((a, b) => a - b)).toEqual(params.map((_, i) => i + 1));
      }),
    );
  });

  it('should build the same text for two queries of one shape (sessionListShape)', () => {
    // The list key statement is built once per shape (SessionReadsRepository.listVersion).
    const withColumns = (param: (value: unknown) => string) => `s.id, ${param(30)} AS ttl__`;
    fc.assert(
      fc.property(twoOfOneShape, ({ a, b }) => {
        expect(sessionListShape(b.filters, b.page)).toBe(sessionListShape(a.filters, a.page));
        expect(sessionListSql(b.filters, b.page).sql).toBe(sessionListSql(a.filters, a.page).sql);
        expect(sessionListSql(b.filters, b.page, withColumns, KEY_OPTIONS).sql).toBe(
          sessionListSql(a.filters, a.page, withColumns, KEY_OPTIONS).sql,
        );
      }),
      { numRuns: 1_000 },
    );
    // And the converse over any two queries: different texts, different shapes.
    fc.assert(
      fc.property(listFilters, listPages, listFilters, listPages, (f1, p1, f2, p2) => {
        if (sessionListSql(f1, p1).sql !== sessionListSql(f2, p2).sql) {
          expect(sessionListShape(f1, p1)).not.toBe(sessionListShape(f2, p2));
        }
      }),
    );
  });

  it('should give the same shape to queries that differ only in their values', () => {
    const filters: SessionListFilters = {
      ownerId: 'u1',
      sortBy: 'created_at',
      agentId: 'ag_1',
      includeArchived: false,
      kind: 'default',
    };
    const page: PageRequest = { limit: 50, order: 'desc', after: 'conv_a' };
    expect(
      sessionListShape(
        { ...filters, ownerId: 'u2', agentId: 'ag_2', kind: 'sub_agent' },
        { ...page, limit: 10, after: 'conv_b' },
      ),
    ).toBe(sessionListShape(filters, page));
    // Which filters are given, the column, the cursor and the direction are the shape.
    for (const other of [
      sessionListShape({ ...filters, agentId: undefined }, page),
      sessionListShape({ ...filters, kind: 'any' }, page),
      sessionListShape({ ...filters, includeArchived: true }, page),
      sessionListShape({ ...filters, sortBy: 'updated_at' }, page),
      sessionListShape(filters, { ...page, order: 'asc' }),
      sessionListShape(filters, { ...page, after: undefined }),
      sessionListShape(filters, { ...page, after: undefined, before: 'conv_a' }),
    ]) {
      expect(other).not.toBe(sessionListShape(filters, page));
    }
  });
});
