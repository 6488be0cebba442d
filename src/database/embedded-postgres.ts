import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { Logger } from '@nestjs/common';

export interface EmbeddedPostgresOptions {
  /** A directory, or 'memory://' for a throw-away database. */
  dataDir: string;
  /** Start from a dump made by `stop({ dumpTo })` instead (tests' migrated template). */
  loadDataDir?: string;
}

export interface EmbeddedPostgres {
  port: number;
  stop(options?: { dumpTo?: string }): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite has no lock of its own: two servers on one data directory would corrupt it
 * (spec/stack.md §3.4). A `<dataDir>.lock` file holds the owner's pid; a stale one is taken over.
 */
function acquireLock(dataDir: string): () => void {
  const lockPath = `${dataDir}.lock`;
  mkdirSync(dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
      const pid = Number(readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new Error(`The embedded database ${dataDir} is in use by pid ${pid}`, {
          cause: error,
        });
      }
      unlinkSync(lockPath);
    }
  }
  throw new Error(`Could not lock the embedded database ${dataDir}`);
}

/** Starts PGlite in a worker thread, listening on a random loopback port. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const logger = new Logger('EmbeddedPostgres');
  const inMemory = options.dataDir.startsWith('memory://') || options.loadDataDir !== undefined;
  if (!inMemory) {
    mkdirSync(options.dataDir, { recursive: true });
  }
  const release = inMemory ? () => undefined : acquireLock(options.dataDir);
  const started = Date.now();
  const worker = new Worker(join(__dirname, 'pglite-worker.js'), {
    workerData: { dataDir: options.dataDir, loadDataDir: options.loadDataDir },
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('embedded PostgreSQL did not start in time')),
        START_TIMEOUT_MS,
      );
      worker.once('message', (message: { port?: number; error?: string }) => {
        clearTimeout(timer);
        if (message.port) {
          resolve(message.port);
        } else {
          reject(new Error(`embedded PostgreSQL failed to start: ${message.error}`));
        }
      });
      worker.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    // Don't let the worker alone keep the process (or a Jest run whose setup failed) alive.
    worker.unref();
    logger.log(
      `Embedded PostgreSQL ready in ${Date.now() - started} ms (${inMemory ? 'in memory' : options.dataDir})`,
    );
    let stopping: Promise<void> | undefined;
    return {
      port,
      stop: (stopOptions = {}) =>
        (stopping ??= (async () => {
          // Without ref() node may exit silently mid-stop when nothing else is pending (stack.md §3.1).
          worker.ref();
          try {
            await new Promise<void>((resolve, reject) => {
              worker.once('message', (message: { stopped?: boolean; error?: string }) =>
                message.stopped ? resolve() : reject(new Error(message.error)),
              );
              worker.postMessage({ dumpTo: stopOptions.dumpTo });
            });
          } finally {
            await worker.terminate();
            release();
          }
        })()),
    };
  } catch (error) {
    await worker.terminate();
    release();
    throw error;
  }
}
