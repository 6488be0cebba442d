/** Durable runner events per second (bench/runner-ingest, its own process; PostgreSQL only). */
import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { ROOT, startNode, waitForOutput } from 'bench/bench-process';
import { EMBEDDED, QUICK, wanted } from 'bench/suite/options';
import { record } from 'bench/suite/table';

/** The ingest process goes into `started` (to stop at the end). */
export async function ingest(started: ChildProcess[]): Promise<void> {
  if (wanted('ingest') && !EMBEDDED) {
    const ingest = startNode([join(ROOT, 'bench', 'run.js'), 'runner-ingest'], {
      BENCH_EVENTS: QUICK ? '10000' : '50000',
    });
    started.push(ingest);
    const exited = new Promise((resolve) => ingest.once('exit', resolve));
    const line = await waitForOutput(ingest, /(\d+) events\/s/, 600_000);
    await exited;
    record({
      scenario: 'runner ingest',
      metric: 'durable events/s',
      ours: Number(line),
      raw: null,
      detail: 'bench/runner-ingest, target ≥ 5,000',
    });
  }
}
