import { spawn } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';

import { EmbeddedPostgresError } from 'src/database/embedded/embedded-postgres.errors';
import { MIGRATIONS } from 'migrations/index';

/** Written with the imported rows, in the same transaction: the import happened, exactly once. */
const MARKER = 'omnigent: imported from PGlite';

type ExportLine = { migrations: string[] } | { table: string } | { rows: string[] } | { end: true };

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The PGlite directory an older version kept its database in. */
export function pgliteDir(dataDir: string): string {
  return join(dataDir, 'pglite');
}

async function alreadyImported(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS comment
       FROM pg_database WHERE datname = current_database()`,
  );
  return rows[0]?.comment?.startsWith(MARKER) ?? false;
}

/** The schema as PGlite had it: exactly the migrations it had applied, no more. */
async function migrateTo(url: string, names: string[]): Promise<void> {
  const known = new Map(MIGRATIONS.map((m) => [new m().name ?? m.name, m]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new EmbeddedPostgresError(
      `The PGlite database was written by a newer Omnigent (unknown migrations: ${unknown.join(', ')}); ` +
        'upgrade this server to import it.',
    );
  }
  const dataSource = await new DataSource({
    type: 'postgres',
    url,
    migrations: names.map((n) => known.get(n) as (typeof MIGRATIONS)[number]),
    logging: ['error'],
  }).initialize();
  try {
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await dataSource.destroy();
  }
}

async function insertableColumns(client: Client, table: string): Promise<string[]> {
  const { rows } = await client.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER'
      ORDER BY ordinal_position`,
    [table],
  );
  if (rows.length === 0) {
    throw new EmbeddedPostgresError(`The PGlite database has a table ${table} this version lacks`);
  }
  return rows.map((r) => quote(r.column_name));
}

/** Serial and identity counters continue after the imported rows. */
async function resetSequences(client: Client, tables: string[]): Promise<void> {
  const { rows } = await client.query<{ seq: string; tbl: string; col: string }>(
    `SELECT s.oid::regclass::text AS seq, t.relname AS tbl, a.attname AS col
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
      WHERE d.deptype IN ('a', 'i') AND t.relname = ANY($1)`,
    [tables],
  );
  for (const { seq, tbl, col } of rows) {
    await client.query(
      `SELECT setval($1::regclass, COALESCE(MAX(${quote(col)}), 0) + 1, false) FROM ${quote(tbl)}`,
      [seq],
    );
  }
}

/** Streams PGlite's rows (from pglite-export.js) into PostgreSQL in one transaction. */
async function copyRows(source: string, url: string, client: Client): Promise<number> {
  const child = spawn(process.execPath, [join(__dirname, 'pglite-export.js'), source], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {},
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const tables: string[] = [];
  let table = '';
  let columns = '';
  let rows = 0;
  let ended = false;
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      const message = JSON.parse(line) as ExportLine;
      if ('migrations' in message) {
        await migrateTo(url, message.migrations);
        await client.query('BEGIN');
        // Rows arrive table by table, not in foreign-key order.
        await client.query('SET LOCAL session_replication_role = replica');
      } else if ('table' in message) {
        table = message.table;
        tables.push(table);
        columns = (await insertableColumns(client, table)).join(', ');
        const { rowCount } = await client.query(`SELECT 1 FROM ${quote(table)} LIMIT 1`);
        if (rowCount) {
          throw new EmbeddedPostgresError(
            `Not importing the PGlite database in ${source}: the new database already has rows in ` +
              `${table}. Move ${source} away to keep the new database as it is.`,
          );
        }
      } else if ('rows' in message) {
        await client.query(
          `INSERT INTO ${quote(table)} (${columns}) OVERRIDING SYSTEM VALUE
           SELECT ${columns} FROM json_populate_recordset(NULL::${quote(table)}, $1::json)`,
          [`[${message.rows.join(',')}]`],
        );
        rows += message.rows.length;
      } else {
        await resetSequences(client, tables);
        await client.query(
          `COMMENT ON DATABASE ${quote((await client.query('SELECT current_database() AS db')).rows[0].db)} IS ` +
            `'${MARKER} ${source.replace(/'/g, "''")} at ${new Date().toISOString()}'`,
        );
        await client.query('COMMIT');
        ended = true;
      }
    }
    const code = await exited;
    if (code !== 0 || !ended) {
      throw new EmbeddedPostgresError(
        `Reading the PGlite database in ${source} failed (exit ${code}): ${stderr.trim()}`,
      );
    }
    return rows;
  } catch (error) {
    child.kill('SIGKILL');
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Older versions kept the embedded database in `<dataDir>/pglite` (PGlite). On the first start
 * of this version its schema and rows are copied into PostgreSQL, once, and the directory is
 * kept as `pglite.imported-<time>` (a backup to delete when no longer needed).
 */
export async function importPgliteIfPresent(
  dataDir: string,
  url: string,
  logger: Logger,
): Promise<void> {
  const source = pgliteDir(dataDir);
  if (!existsSync(join(source, 'PG_VERSION'))) {
    return;
  }
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    if (!(await alreadyImported(client))) {
      const started = Date.now();
      logger.log(`Found a PGlite database in ${source}: importing it into PostgreSQL (once)…`);
      const rows = await copyRows(source, url, client);
      logger.log(`Imported ${rows} rows from PGlite in ${Date.now() - started} ms`);
    }
  } finally {
    await client.end();
  }
  const backup = `${source}.imported-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(source, backup);
  rmSync(`${source}.lock`, { force: true });
  logger.log(
    `The old PGlite directory is kept as a backup in ${backup}; delete it when you no longer need it`,
  );
}
