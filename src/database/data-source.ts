import { DataSource } from 'typeorm';

import { getConfig } from 'src/config/app-config';
import { typeOrmOptions } from 'src/database/typeorm-options';

// For the TypeORM CLI (`typeorm migration:generate -d dist/src/database/data-source.js`), against
// the PostgreSQL in DATABASE_URL. Never synchronize: schema changes are reviewed migrations.
const config = getConfig();
if (!config.database.url) {
  throw new Error('Set DATABASE_URL to use the TypeORM CLI');
}
export default new DataSource(typeOrmOptions(config));
