/** The table `npm run bench` prints, row by row, and the results file it writes at the end. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

import { ROOT } from 'bench/bench-process';
import { CONNECTIONS, EMBEDDED, LOAD_MS, QUICK } from 'bench/suite/options';

interface Row {
  scenario: string;
  metric: string;
  ours: number;
  raw: number | null;
  /** ours/raw for rates, raw/ours for times: above 1 is better than raw, always. */
  ratio: number | null;
  detail: string;
}

const rows: Row[] = [];

export function printHeader(): void {
  console.log(
    `npm run bench (${EMBEDDED ? 'embedded PostgreSQL' : 'PostgreSQL'}${QUICK ? ', quick' : ''}); ` +
      `${CONNECTIONS} connections, ${LOAD_MS / 1000} s per load`,
  );
  console.log(
    `${'scenario'.padEnd(28)} ${'metric'.padEnd(24)} ${'ours'.padStart(10)} ${'raw'.padStart(10)} ${'ratio'.padStart(7)}`,
  );
}

export function record(row: Omit<Row, 'ratio'>, higherIsBetter = true): void {
  const ratio =
    row.raw === null || row.raw === 0 || row.ours === 0
      ? null
      : higherIsBetter
        ? row.ours / row.raw
        : row.raw / row.ours;
  rows.push({ ...row, ratio });
  const fmt = (n: number | null) => (n === null ? '—' : n >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log(
    `${row.scenario.padEnd(28)} ${row.metric.padEnd(24)} ${fmt(row.ours).padStart(10)} ` +
      `${fmt(row.raw).padStart(10)} ${ratio === null ? '—'.padStart(7) : `${ratio.toFixed(2)}×`.padStart(7)}  ${row.detail}`,
  );
}

/** Writes the rows to `bench/results/<date>[-embedded][-quick].json`. */
export function writeResults(): void {
  const date = new Date().toISOString().slice(0, 10);
  const out = join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `${date}${EMBEDDED ? '-embedded' : ''}${QUICK ? '-quick' : ''}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        mode: EMBEDDED ? 'embedded' : 'postgresql',
        quick: QUICK,
        node: process.version,
        cpus: cpus().length,
        loadavg: loadavg(),
        rows,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`written to ${file}`);
}
