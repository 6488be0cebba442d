import { Logger } from '@nestjs/common';
import { DataSource, MigrationExecutor } from 'typeorm';

/** Key of the session advisory lock that serialises migration runs (`'omni'` in ASCII). */
export const MIGRATION_LOCK_KEY = 0x6f6d6e69;

/**
 * Applies pending migrations, each in its own transaction, and logs what it did. Replicas that
 * start at once take turns on a PostgreSQL advisory lock, so each migration runs exactly once:
 * the first applies them, the others then find nothing pending. The lock and the migrations
 * share one connection, so a pool of one is enough.
 */
export async function runMigrations(dataSource: DataSource, logger: Logger): Promise<number> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  let applied: { name: string }[];
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      applied = await executor.executePendingMigrations();
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
  if (applied.length > 0) {
    logger.log(`Applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`);
  }
  return applied.length;
}
