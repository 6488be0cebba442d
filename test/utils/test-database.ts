import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { Client } from 'pg';

import { processAlive } from 'src/database/embedded/postmaster';

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

/**
 * A fresh, empty data directory for a test server. Made traversable (0755) so that, when tests
 * run as root, the database account reaches it and nothing is relocated (relocation has its
 * own test).
 */
export function newDataDir(prefix = 'omnigent-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * A data directory holding a copy of the migrated embedded database that globalSetup made once
 * (test/global-setup.ts): starting on it skips initdb and the migrations. `cp -a` keeps the
 * files' owner (the database account, when tests run as root).
 */
export function embeddedDataDir(): string {
  const template = process.env.OMNIGENT_TEST_EMBEDDED_TEMPLATE;
  if (!template) {
    throw new Error('OMNIGENT_TEST_EMBEDDED_TEMPLATE is not set: run through jest (globalSetup)');
  }
  const dir = newDataDir();
  execFileSync('cp', ['-a', join(template, 'postgres'), join(template, 'postgres.password'), dir]);
  return dir;
}

/** Removes a test data directory, and the database files it links to when they were relocated. */
export function removeDataDir(dir: string): void {
  const link = join(dir, 'postgres');
  try {
    if (lstatSync(link).isSymbolicLink()) {
      rmSync(resolve(dir, readlinkSync(link)), { recursive: true, force: true });
    }
  } catch {
    // no database here
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Stops a postmaster still running on a test data directory (a server killed with SIGKILL
 * leaves its embedded PostgreSQL behind for the next start to adopt) and waits until it is gone.
 */
export async function stopLeftoverPostmaster(dataDir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGQUIT');
  } catch {
    return;
  }
  for (let i = 0; i < 250 && processAlive(pid); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (processAlive(pid)) {
    process.kill(pid, 'SIGKILL');
  }
}
