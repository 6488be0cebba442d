/**
 * How a read path is measured against the raw baseline: the fixtures, the warm-up and the load.
 * `npm run bench` (bench/suite/reads.ts) and the CI guard (test/bench/bench-smoke.bench-spec.ts)
 * both run this, so the guard's ratios are the bench's. No command line is read here (the guard
 * imports it under Jest).
 */
import { history } from 'bench/fixtures';
import { interleaved, InterleavedResult, InterleavedSide, load, LoadResult } from 'bench/http-load';
import type { Api } from 'bench/suite/servers';

/** Keep-alive connections per load, on both servers. */
export const READ_CONNECTIONS = 10;
/**
 * Load on every read path, both servers, before the first read is measured. Our server's cost
 * per request fell by about a third between its first and its next 6 s of load (snapshot
 * 0.63–0.67 → 0.43–0.45 ms, items 0.51 → 0.31 ms: JIT, heap sizing); raw, a few lines, warms
 * far sooner. A short warm-up set our cold start against raw's steady state.
 */
export const READS_WARM_MS = 3_000;
/** Each alternating burst of `interleaved`. */
export const READ_BURST_MS = 500;

export type ReadName = 'snapshot' | 'list' | 'items';
export type ReadPaths = Record<ReadName, string>;

/**
 * The read fixtures: one session of 100 items (~30 KB of snapshot), 60 more for the list.
 * Returns the big session's id and the paths measured: its snapshot, the list (limit 50) and its
 * items page.
 */
export async function seedReads(api: Api, echo: string): Promise<{ id: string; paths: ReadPaths }> {
  const big = await api.call<{ id: string }>('POST', '/v1/sessions', {
    agent_id: echo,
    title: 'bench 100 items',
    initial_items: history(100),
  });
  for (let i = 0; i < 60; i++) {
    await api.call('POST', '/v1/sessions', { agent_id: echo, title: `bench ${i}` });
  }
  const paths = {
    snapshot: `/v1/sessions/${big.body.id}`,
    list: '/v1/sessions?limit=50',
    items: `/v1/sessions/${big.body.id}/items?limit=100`,
  };
  return { id: big.body.id, paths };
}

/** Our answers on `paths`, as the raw baseline's routes (bench/raw-baseline.ts) serve them. */
export function recordReads(
  api: Api,
  paths: ReadPaths,
): Promise<{ path: string; contentType: string; body: string }[]> {
  return Promise.all(
    Object.values(paths).map(async (path) => {
      const res = await api.call('GET', path);
      return {
        path,
        contentType: res.headers.get('content-type') ?? 'application/json',
        body: res.text,
      };
    }),
  );
}

/**
 * Both servers to their steady state on the paths about to be measured (READS_WARM_MS in all,
 * raw a third of ours: it warms sooner), not measured.
 */
export async function warmReads(ours: string, raw: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    const durationMs = READS_WARM_MS / Math.max(1, paths.length);
    await load(ours + path, { connections: READ_CONNECTIONS, durationMs });
    await load(raw + path, { connections: READ_CONNECTIONS, durationMs: durationMs / 3 });
  }
}

export interface ReadComparison {
  /** One load on each side alone (loadMs / 4): latencies and status codes. */
  ours: LoadResult;
  raw: LoadResult;
  /** The ratio and the CPU per request: alternating bursts, about loadMs on each side. */
  both: InterleavedResult;
}

/**
 * The same GET against ours and raw: one load each for the latencies, then alternating bursts
 * (`interleaved`) for the ratio and the CPU per request, so a load that comes and goes on the
 * machine weighs on both sides alike. `headers` go to ours only (raw answers 200 regardless).
 */
export async function compareRead(
  ours: InterleavedSide,
  raw: InterleavedSide,
  loadMs: number,
  headers?: Record<string, string>,
): Promise<ReadComparison> {
  const options = { connections: READ_CONNECTIONS, durationMs: loadMs / 4 };
  const a = await load(ours.url, { ...options, headers });
  const b = await load(raw.url, options);
  const both = await interleaved([{ ...ours, headers }, raw], {
    connections: READ_CONNECTIONS,
    rounds: Math.max(2, Math.round(loadMs / 1000)),
    burstMs: READ_BURST_MS,
  });
  return { ours: a, raw: b, both };
}
