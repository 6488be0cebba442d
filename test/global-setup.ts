import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { getConfig } from 'src/config/app-config';
import { startEmbeddedPostgres } from 'src/database/embedded/embedded-postgres';
import { typeOrmOptions } from 'src/database/typeorm-options';
import { createTestDatabase, databaseUrl, newDataDir } from 'test/utils/test-database';

async function migrate(url: string): Promise<void> {
  const dataSource = await new DataSource(
    typeOrmOptions(getConfig({ DATABASE_URL: url })),
  ).initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Once per run: fresh `omnigent_test_<random>` databases on the machine's PostgreSQL (one for
 * e2e, one for integration, whose fixtures insert catalog rows the e2e lists must not see), and
 * a migrated embedded database (initdb + migrations, once) that tests copy instead of
 * initialising their own (test/utils/test-database.ts#embeddedDataDir). The second project's
 * call finds them ready.
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

  const template = newDataDir('omnigent-template-');
  Logger.overrideLogger(['error', 'warn']);
  const embedded = await startEmbeddedPostgres({ dataDir: template });
  try {
    await migrate(embedded.url);
  } finally {
    await embedded.stop();
  }
  process.env.OMNIGENT_TEST_EMBEDDED_TEMPLATE = template;
}
