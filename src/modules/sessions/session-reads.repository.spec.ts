import fc from 'fast-check';
import type { QueryConfig } from 'pg';
import { DataSource } from 'typeorm';

import type { AppConfig } from 'src/config/app-config';
import { PageRequest } from 'src/common/pagination/pagination';
import { sessionListShape } from 'src/modules/sessions/session-list.util';
import {
  listKeyParams,
  listKeyStatement,
  SessionReadsRepository,
} from 'src/modules/sessions/session-reads.repository';
import type { SessionListFilters } from 'src/modules/sessions/sessions.repository';
import { listFilters, listPages } from 'test/utils/session-list-arbitraries';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** The repository over a pg pool that records each statement and answers a key. */
function recordingRepository() {
  const sent: QueryConfig[] = [];
  const pool = {
    query: jest.fn((config: QueryConfig) => {
      sent.push(config);
      return Promise.resolve({
        rows: [{ list_version: `key ${sent.length}`, cursor_known: true }],
      });
    }),
  };
  const config = { database: { preparedStatements: true } } as AppConfig;
  const dataSource = { driver: { master: pool } } as unknown as DataSource;
  return { repo: new SessionReadsRepository(config, dataSource), sent };
}

const FILTERS: SessionListFilters = {
  ownerId: 'u1',
  sortBy: 'created_at',
  includeArchived: false,
  kind: 'default',
};
const PAGE: PageRequest = { limit: 50, order: 'desc' };

describe(`${SessionReadsRepository.name} list key statement`, () => {
  it("should take listKeyParams' values in the places of listKeyStatement's text", () => {
    fc.assert(
      fc.property(listFilters, listPages, fc.double({ min: 0.1, max: 600 }), (f, p, ttl) => {
        expect(listKeyStatement(f, p, ttl).params).toEqual(listKeyParams(f, p, ttl));
      }),
    );
  });

  it('should send the text built for the first query of a shape, with each query its values', async () => {
    const { repo, sent } = recordingRepository();
    const queries: [SessionListFilters, PageRequest][] = [
      [FILTERS, PAGE],
      [
        { ...FILTERS, ownerId: 'u2', kind: 'sub_agent' },
        { ...PAGE, limit: 10 },
      ],
      [FILTERS, { ...PAGE, after: 'conv_a' }],
      [
        { ...FILTERS, ownerId: 'u2' },
        { ...PAGE, after: 'conv_b', order: 'asc' },
      ],
      [FILTERS, { ...PAGE, after: 'conv_c' }],
    ];
    for (const [filters, page] of queries) {
      await expect(repo.listVersion(filters, page, 30_000)).resolves.toMatch(/^key /);
      await nextTurn();
    }
    const built = queries.map(([filters, page]) => listKeyStatement(filters, page, 30));
    expect(sent.map((s) => s.values)).toEqual(built.map((b) => b.params));
    expect(sent.map((s) => s.text)).toEqual(built.map((b) => b.text));
    // One text per shape, and the name it is prepared under with it.
    expect(sent[1].text).toBe(sent[0].text);
    expect(sent[4].text).toBe(sent[2].text);
    expect(sent[1].name).toBe(sent[0].name);
    expect(new Set(sent.map((s) => s.text)).size).toBe(
      new Set(queries.map(([filters, page]) => sessionListShape(filters, page))).size,
    );
  });

  it('should share one statement among the same query in one turn, not among others', async () => {
    const { repo, sent } = recordingRepository();
    const answers = await Promise.all([
      repo.listVersion(FILTERS, PAGE, 30_000),
      repo.listVersion({ ...FILTERS }, { ...PAGE }, 30_000),
      repo.listVersion({ ...FILTERS, ownerId: 'u2' }, PAGE, 30_000),
      repo.listVersion(FILTERS, { ...PAGE, limit: 20 }, 30_000),
      repo.listVersion(FILTERS, PAGE, 10_000),
    ]);
    expect(sent.map((s) => s.values)).toEqual([
      listKeyParams(FILTERS, PAGE, 30),
      listKeyParams({ ...FILTERS, ownerId: 'u2' }, PAGE, 30),
      listKeyParams(FILTERS, { ...PAGE, limit: 20 }, 30),
      listKeyParams(FILTERS, PAGE, 10),
    ]);
    expect(answers).toEqual(['key 1', 'key 1', 'key 2', 'key 3', 'key 4']);
  });
});
