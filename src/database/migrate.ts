import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Applies pending migrations, each in its own transaction, and logs what it did. */
export async function runMigrations(dataSource: DataSource, logger: Logger): Promise<number> {
  const applied = await dataSource.runMigrations({ transaction: 'each' });
  if (applied.length > 0) {
    logger.log(`Applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`);
  }
  return applied.length;
}
