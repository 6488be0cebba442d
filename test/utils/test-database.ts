import { randomBytes } from 'node:crypto';

import { Client } from 'pg';

/** Where the PostgreSQL service of the development/CI machine listens (spec/README.md §10). */
export function adminDatabaseUrl(): string {
  return process.env.OMNIGENT_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function databaseUrl(name: string): string {
  const url = new URL(adminDatabaseUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates `omnigent_test_<random>` and returns its name. */
export async function createTestDatabase(): Promise<string> {
  const name = `omnigent_test_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: adminDatabaseUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return name;
}

export async function dropTestDatabase(name: string): Promise<void> {
  if (!/^omnigent_test_[0-9a-f]+$/.test(name)) {
    throw new Error(`refusing to drop ${name}`);
  }
  const client = new Client({ connectionString: adminDatabaseUrl() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
