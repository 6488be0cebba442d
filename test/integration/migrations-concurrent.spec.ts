import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { getConfig } from 'src/config/app-config';
import { runMigrations } from 'src/database/migrate';
import { typeOrmOptions } from 'src/database/typeorm-options';
import { MIGRATIONS } from 'migrations/index';
import { createTestDatabase, databaseUrl, dropTestDatabase } from 'test/utils/test-database';

describe(runMigrations.name, () => {
  let name: string;
  const dataSources: DataSource[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    name = await createTestDatabase();
  });

  afterAll(async () => {
    await Promise.all(dataSources.filter((d) => d.isInitialized).map((d) => d.destroy()));
    await dropTestDatabase(name);
  });

  it('should apply each migration exactly once when several replicas start at once', async () => {
    const replicas = 4;
    for (let i = 0; i < replicas; i++) {
      // A pool of one: the lock and the migrations must share the connection.
      const config = getConfig({ DATABASE_URL: databaseUrl(name), OMNIGENT_DB_POOL_SIZE: '1' });
      dataSources.push(await new DataSource(typeOrmOptions(config)).initialize());
    }
    const logger = new Logger('test');
    const counts = await Promise.all(dataSources.map((d) => runMigrations(d, logger)));

    expect(counts.reduce((a, b) => a + b, 0)).toBe(MIGRATIONS.length);
    expect(counts.filter((count) => count > 0)).toEqual([MIGRATIONS.length]);
    const rows: { name: string }[] = await dataSources[0].query(
      'SELECT name FROM migrations ORDER BY id',
    );
    expect(rows.map((row) => row.name)).toEqual(MIGRATIONS.map((m) => m.name));
    // Nothing left to do, and the lock was given back.
    await expect(runMigrations(dataSources[1], logger)).resolves.toBe(0);
  });
});
