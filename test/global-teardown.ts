import { dropTestDatabase, removeDataDir } from 'test/utils/test-database';

export default async function globalTeardown(): Promise<void> {
  const name = process.env.OMNIGENT_TEST_DATABASE;
  if (!name || process.env.OMNIGENT_TEST_TORN_DOWN) {
    return;
  }
  process.env.OMNIGENT_TEST_TORN_DOWN = '1';
  for (const database of name.split(',')) {
    await dropTestDatabase(database);
  }
  if (process.env.OMNIGENT_TEST_EMBEDDED_TEMPLATE) {
    removeDataDir(process.env.OMNIGENT_TEST_EMBEDDED_TEMPLATE);
  }
}
