/** The read paths: snapshot, session list, items page, conditional snapshot (304). */
import { backendPids } from 'bench/bench-process';
import { InterleavedSide, LoadResult } from 'bench/http-load';
import { compareRead, warmReads } from 'bench/read-ratios';
import { LOAD_MS, wanted } from 'bench/suite/options';
import { Suite } from 'bench/suite/setup';
import { record } from 'bench/suite/table';

function loadDetail(ours: LoadResult, raw: LoadResult): string {
  const codes = Object.entries(ours.status)
    .map(([code, n]) => `${code}×${n}`)
    .join(' ');
  return (
    `p50 ${ours.p50.toFixed(1)}/${raw.p50.toFixed(1)} ms, p99 ${ours.p99.toFixed(1)}/` +
    `${raw.p99.toFixed(1)} ms, ${Math.round(ours.bytes)} B, ${codes}`
  );
}

/**
 * The same GET against ours and raw (`compareRead`, shared with the CI guard): req/s, and the
 * CPU each server process spent per request (from /proc): on a shared machine the rate is the
 * machine's, the CPU per request is the server's own cost.
 */
async function compareGet(
  scenario: string,
  ours: InterleavedSide,
  raw: InterleavedSide,
  headers?: Record<string, string>,
): Promise<void> {
  const { ours: a, raw: b, both } = await compareRead(ours, raw, LOAD_MS, headers);
  record({
    scenario,
    metric: 'req/s',
    ours: both.rps[0],
    raw: both.rps[1],
    detail: loadDetail(a, b),
  });
  record(
    {
      scenario,
      metric: 'server CPU ms/req',
      ours: both.cpuMs[0],
      raw: both.cpuMs[1],
      detail: `raw/ours; the bench's client ${both.clientCpuMs[0].toFixed(3)}/${both.clientCpuMs[1].toFixed(3)} ms/req`,
    },
    false,
  );
  if (both.alsoCpuMs[0] !== null) {
    record(
      {
        scenario,
        metric: 'PostgreSQL CPU ms/req',
        ours: both.alsoCpuMs[0],
        raw: null,
        detail: "our server's database backends (/proc), same bursts",
      },
      false,
    );
  }
}

export async function reads({ api, ours: warm, raw, paths, databaseUrl }: Suite): Promise<void> {
  const oursAt = (path: string) => ({
    url: warm.url + path,
    pid: warm.proc.pid as number,
    alsoPids: databaseUrl ? () => backendPids(databaseUrl) : undefined,
  });
  const rawAt = (path: string) => ({ url: raw.url + path, pid: raw.proc.pid as number });
  const hot = (['snapshot', 'list', 'items'] as const).filter((name) => wanted(name));
  if (hot.length > 0 || wanted('conditional')) {
    // Both sides to their steady state (READS_WARM_MS), not measured.
    const warmed = hot.length > 0 ? hot.map((name) => paths[name]) : [paths.snapshot];
    await warmReads(warm.url, raw.url, warmed);
  }
  if (wanted('snapshot')) {
    await compareGet('snapshot, 100 items', oursAt(paths.snapshot), rawAt(paths.snapshot));
  }
  if (wanted('list')) {
    await compareGet('session list, limit 50', oursAt(paths.list), rawAt(paths.list));
  }
  if (wanted('items')) {
    await compareGet('items page, limit 100', oursAt(paths.items), rawAt(paths.items));
  }
  if (wanted('conditional')) {
    const etag = (await api.call('GET', paths.snapshot)).headers.get('etag');
    if (etag) {
      await compareGet(
        'snapshot, If-None-Match (raw: 200)',
        oursAt(paths.snapshot),
        rawAt(paths.snapshot),
        { 'if-none-match': etag },
      );
    } else {
      console.log('snapshot, If-None-Match: no ETag on the snapshot, skipped');
    }
  }
}
