'use strict';
// Reads the PGlite data directory of an older Omnigent (PGlite was the embedded database before
// real PostgreSQL) and writes its migrations and rows to stdout as JSON lines, for
// pglite-import.ts. A process of its own, so that PGlite's WASM heap (hundreds of MB) is gone
// once the import is done; plain CommonJS, so it runs unchanged from src/ (tests) and dist/.
const { PGlite } = require('@electric-sql/pglite');

const BATCH = 500;

function write(message) {
  return new Promise((resolve) => {
    if (process.stdout.write(`${JSON.stringify(message)}\n`)) {
      resolve();
    } else {
      process.stdout.once('drain', resolve);
    }
  });
}

const quote = (name) => `"${name.replace(/"/g, '""')}"`;

(async () => {
  const db = await PGlite.create({ dataDir: process.argv[2] });
  try {
    const { rows: found } = await db.query(
      `SELECT to_regclass('public.migrations') IS NOT NULL AS present`,
    );
    const migrations = found[0].present
      ? (await db.query('SELECT name FROM migrations ORDER BY id')).rows.map((r) => r.name)
      : [];
    await write({ migrations });
    const { rows: tables } = await db.query(
      `SELECT tablename FROM pg_tables
        WHERE schemaname = 'public' AND tablename <> 'migrations' ORDER BY tablename`,
    );
    for (const { tablename } of tables) {
      await write({ table: tablename });
      await db.transaction(async (tx) => {
        await tx.query(
          `DECLARE export NO SCROLL CURSOR FOR
             SELECT row_to_json(t)::text AS row FROM public.${quote(tablename)} t`,
        );
        for (;;) {
          const { rows } = await tx.query(`FETCH ${BATCH} FROM export`);
          if (rows.length === 0) {
            break;
          }
          await write({ rows: rows.map((r) => r.row) });
        }
      });
    }
    await write({ end: true });
  } finally {
    await db.close();
  }
})().catch((error) => {
  process.stderr.write(String((error && error.stack) || error));
  process.exit(1);
});
