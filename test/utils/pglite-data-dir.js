'use strict';
// Makes the PGlite data directory an older Omnigent left behind (PGlite was its embedded
// database): the schema from the compiled migrations (dist/, which `npm test` builds first),
// TypeORM's migrations table, and the rows given as JSON. Usage:
//   node test/utils/pglite-data-dir.js <dir> '{"users":[{…}],"sessions":[…],…}'
// A process of its own: PGlite cannot load inside Jest's module registry.
const path = require('node:path');
const Module = require('node:module');
const { PGlite } = require('@electric-sql/pglite');

const dist = path.join(__dirname, '..', '..', 'dist');
process.env.NODE_PATH = dist;
Module._initPaths();
const { MIGRATIONS } = require(path.join(dist, 'migrations', 'index.js'));

(async () => {
  const [dir, json] = process.argv.slice(2);
  const tables = JSON.parse(json);
  const db = await PGlite.create({ dataDir: dir });
  // What TypeORM creates before the first migration.
  await db.exec(
    `CREATE TABLE "migrations" ("id" SERIAL NOT NULL, "timestamp" bigint NOT NULL,
       "name" character varying NOT NULL, CONSTRAINT "PK_8c82d7f526340ab734260ea46be" PRIMARY KEY ("id"))`,
  );
  for (const Migration of MIGRATIONS) {
    const migration = new Migration();
    await migration.up({ query: (sql, params) => db.query(sql, params) });
    await db.query('INSERT INTO migrations ("timestamp", name) VALUES ($1, $2)', [
      Number(migration.name.slice(-13)),
      migration.name,
    ]);
  }
  for (const [table, rows] of Object.entries(tables)) {
    for (const row of rows) {
      const columns = Object.keys(row);
      await db.query(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        columns.map((c) =>
          row[c] !== null && typeof row[c] === 'object' ? JSON.stringify(row[c]) : row[c],
        ),
      );
    }
  }
  await db.close();
})().catch((error) => {
  process.stderr.write(String((error && error.stack) || error));
  process.exit(1);
});
