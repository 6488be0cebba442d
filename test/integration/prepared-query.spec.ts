import { queryPrepared, statementName } from 'src/database/prepared-query.util';
import { describeIntegration } from 'test/integration/integration-context';

describeIntegration('queryPrepared', (ctx) => {
  const STATEMENT = 'SELECT $1::int + 1 AS next, $2::text AS label';

  /** Named statements held by the pool's connections: enough reads at once to visit them all. */
  const preparedNames = async (): Promise<Set<string>> => {
    const lists = await Promise.all(
      Array.from({ length: 20 }, () =>
        queryPrepared(
          ctx.dataSource,
          'SELECT coalesce(array_agg(name), $1) AS names, pg_sleep(0.01) FROM pg_prepared_statements',
          ['{}'],
          false,
        ),
      ),
    );
    return new Set(lists.flatMap((rows) => rows[0].names as string[]));
  };

  it('should answer like an unnamed query, typed by the same parsers', async () => {
    const prepared = await queryPrepared(ctx.dataSource, STATEMENT, [41, 'x'], true);
    const unnamed = await queryPrepared(ctx.dataSource, STATEMENT, [41, 'x'], false);

    expect(prepared).toEqual([{ next: 42, label: 'x' }]);
    expect(prepared).toEqual(unnamed);
  });

  it('should prepare a statement under the name of its text and reuse it', async () => {
    const text = `${STATEMENT} /* on ${Date.now()} */`;

    await Promise.all(
      Array.from({ length: 20 }, (_, i) => queryPrepared(ctx.dataSource, text, [i, 'y'], true)),
    );

    expect(await preparedNames()).toContain(statementName(text));
    await expect(queryPrepared(ctx.dataSource, text, [1, 'z'], true)).resolves.toEqual([
      { next: 2, label: 'z' },
    ]);
  });

  it('should prepare nothing when it is off', async () => {
    const text = `${STATEMENT} /* off ${Date.now()} */`;

    await Promise.all(
      Array.from({ length: 20 }, (_, i) => queryPrepared(ctx.dataSource, text, [i, 'y'], false)),
    );

    expect(await preparedNames()).not.toContain(statementName(text));
  });
});
