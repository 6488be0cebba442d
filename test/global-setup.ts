import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DataSource } from 'typeorm';

import { getConfig } from 'src/config/app-config';
import { startEmbeddedPostgres } from 'src/database/embedded-postgres';
import { typeOrmOptions } from 'src/database/typeorm-options';
import { createTestDatabase, databaseUrl } from 'test/utils/test-database';

async function migrate(url: string | undefined, port?: number): Promise<void> {
  const config = getConfig({ DATABASE_URL: url });
  const dataSource = await new DataSource(typeOrmOptions(config, port)).initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Once per run: fresh `omnigent_test_<random>` databases on the machine's PostgreSQL (one for
 * e2e, one for integration, whose fixtures insert catalog rows the e2e lists must not see) and
 * a migrated PGlite dump that each test restores in memory (spec/stack.md §5). The second
 * project's call finds them ready.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.OMNIGENT_TEST_DATABASE) {
    return;
  }
  const name = await createTestDatabase();
  const integration = await createTestDatabase();
  process.env.OMNIGENT_TEST_DATABASE = `${name},${integration}`;
  process.env.OMNIGENT_TEST_DATABASE_URL = databaseUrl(name);
  process.env.OMNIGENT_TEST_INTEGRATION_DATABASE_URL = databaseUrl(integration);
  await migrate(process.env.OMNIGENT_TEST_DATABASE_URL);
  await migrate(process.env.OMNIGENT_TEST_INTEGRATION_DATABASE_URL);

  const dir = mkdtempSync(join(tmpdir(), 'omnigent-test-'));
  const template = join(dir, 'pglite-template.tar');
  const embedded = await startEmbeddedPostgres({ dataDir: 'memory://' });
  await migrate(undefined, embedded.port);
  await embedded.stop({ dumpTo: template });
  process.env.OMNIGENT_TEST_PGLITE_TEMPLATE = template;
  process.env.OMNIGENT_TEST_TMP = dir;
}
