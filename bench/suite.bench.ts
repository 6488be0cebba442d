/**
 * `npm run bench`: every scenario of issue 12 against OUR server and a raw `node:http` baseline
 * doing the same job (`bench/raw-baseline.ts`: the same bytes, the same fan-out) in the SAME run,
 * so the ratio holds on a busy machine. Both are separate processes on loopback; this process
 * is the client of both. Prints a table and writes `bench/results/<date>[-embedded][-quick].json`.
 *
 *   npm run bench                  # PostgreSQL (BENCH_DATABASE_URL, a scratch database)
 *   npm run bench -- --quick       # a few seconds per scenario (development)
 *   npm run bench -- --embedded    # the embedded PostgreSQL (no DATABASE_URL)
 *   npm run bench -- --only snapshot,list
 *   npm run bench -- --profile <dir>   # the server runs under `node --cpu-prof` (one .cpuprofile per start)
 *   BENCH_CLIENT=net npm run bench     # the reads through bench/http-load's NetClient, not node:http
 *
 * Scenarios: start-up (first, warm); snapshot of a 100-item session; session list; items page;
 * conditional snapshot (If-None-Match → 304); stream fan-out of a `/stream <n>` turn to 100 and
 * 1,000 subscribers; turn overhead (50 sessions posting turns back to back); idle streams
 * (RSS, heartbeat CPU); durable runner events per second (bench/runner-ingest, PostgreSQL only).
 * One file per scenario family in `bench/suite/`; the table and its results file in `table.ts`.
 */
import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { admin, databaseUrl, stop } from 'bench/bench-process';
import { fanout } from 'bench/suite/fanout';
import { idle } from 'bench/suite/idle';
import { ingest } from 'bench/suite/ingest';
import { EMBEDDED } from 'bench/suite/options';
import { reads } from 'bench/suite/reads';
import { prepare } from 'bench/suite/setup';
import { startup } from 'bench/suite/startup';
import { printHeader, writeResults } from 'bench/suite/table';
import { turnScenarios } from 'bench/suite/turns';

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'omnigent-bench-'));
  const dbName = `omnigent_bench_${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = { OMNIGENT_DATA_DIR: join(dir, 'data') };
  if (!EMBEDDED) {
    await admin(`CREATE DATABASE ${dbName}`);
    env.DATABASE_URL = databaseUrl(dbName);
  }
  const started: ChildProcess[] = [];
  printHeader();
  try {
    const suite = await prepare(env, dir, started);
    startup(suite);
    await reads(suite);
    await fanout(suite);
    await turnScenarios(suite);
    await idle(suite);
    await stop(suite.runner);
    await stop(suite.ours.proc);
    await stop(suite.raw.proc);
    await ingest(started);
  } finally {
    for (const proc of started.reverse()) {
      await stop(proc);
    }
    rmSync(dir, { recursive: true, force: true });
    if (!EMBEDDED) {
      await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    }
  }
  writeResults();
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
