/**
 * A small keep-alive load generator and SSE subscriber for `npm run bench` (the same client
 * drives our server and the raw baseline, so its own cost is in both sides of a ratio).
 */
import { Agent, IncomingMessage, request } from 'node:http';

import { cpuSeconds, percentile } from 'bench/bench-process';

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  status: Record<number, number>;
  bytes: number;
}

function once(
  agent: Agent,
  url: URL,
  headers: Record<string, string>,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res: IncomingMessage) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** `connections` keep-alive connections send GET `url` back to back for `durationMs`. */
export async function load(
  url: string,
  options: { connections: number; durationMs: number; headers?: Record<string, string> },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(url);
  const headers = options.headers ?? {};
  const latencies: number[] = [];
  const status: Record<number, number> = {};
  let bytes = 0;
  // Warm-up: JIT, pools and caches on both sides.
  for (let i = 0; i < options.connections * 5; i++) {
    await once(agent, target, headers);
  }
  const started = performance.now();
  const deadline = started + options.durationMs;
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const res = await once(agent, target, headers);
        latencies.push(performance.now() - t0);
        status[res.status] = (status[res.status] ?? 0) + 1;
        bytes += res.bytes;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    status,
    bytes: latencies.length ? bytes / latencies.length : 0,
  };
}

/** One open SSE response: its raw text and waiters for a pattern in what arrives next. */
export class Subscriber {
  text = '';
  /** Frames (blank-line terminated) received so far. */
  frames = 0;
  private readonly waiters: { pattern: string; from: number; resolve: (at: number) => void }[] = [];
  private res?: IncomingMessage;
  private readonly req;

  constructor(url: string, agent: Agent, ready: (error?: Error) => void) {
    this.req = request(url, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
      this.res = res;
      if (res.statusCode !== 200) {
        ready(new Error(`stream → ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => this.onData(chunk));
      res.on('error', () => undefined);
      ready();
    });
    this.req.on('error', (error) => ready(error));
    this.req.end();
  }

  /** Resolves with performance.now() when `pattern` arrives at or after offset `from`. */
  waitFor(pattern: string, from = this.text.length): Promise<number> {
    if (this.text.indexOf(pattern, from) >= 0) {
      return Promise.resolve(performance.now());
    }
    return new Promise((resolve) => this.waiters.push({ pattern, from, resolve }));
  }

  close(): void {
    this.res?.destroy();
    this.req.destroy();
  }

  private onData(chunk: string): void {
    const before = this.text.length;
    this.text += chunk;
    this.frames += chunk.split('\n\n').length - 1;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      const from = Math.max(w.from, before - w.pattern.length);
      if (this.text.indexOf(w.pattern, from) >= 0) {
        this.waiters.splice(i, 1);
        w.resolve(performance.now());
      }
    }
  }

  /** Forgets the text received so far (only waits started after this see new text). */
  reset(): void {
    this.text = '';
  }
}

/** Opens `n` SSE responses on `url`, a few at a time; resolves when all answered 200. */
export async function subscribe(url: string, n: number, agent: Agent): Promise<Subscriber[]> {
  const subscribers: Subscriber[] = [];
  const batch = 50;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(
      Array.from(
        { length: Math.min(batch, n - i) },
        () =>
          new Promise<void>((resolve, reject) => {
            const s = new Subscriber(url, agent, (error) => (error ? reject(error) : resolve()));
            subscribers.push(s);
          }),
      ),
    );
  }
  return subscribers;
}

export interface InterleavedSide {
  url: string;
  /** The server's process id: its CPU time per request is measured too. */
  pid: number;
  headers?: Record<string, string>;
  /**
   * Other processes whose CPU is charged to this side's requests (the database's backends),
   * asked for before each burst (a pool opens and closes connections as the load goes).
   */
  alsoPids?: () => Promise<number[]>;
}

export interface InterleavedResult {
  /** ours/raw requests per second, each side over its own bursts only. */
  ratio: number;
  rps: [number, number];
  /** Server CPU ms per request (from /proc), each process over its own bursts. */
  cpuMs: [number, number];
  requests: [number, number];
  /** CPU ms per request of each side's `alsoPids` (null without them). */
  alsoCpuMs: [number | null, number | null];
  /**
   * This process's own CPU ms per request (the client: `process.cpuUsage`), over each side's
   * bursts: when it nears a core, the client, not the server, sets that side's rate.
   */
  clientCpuMs: [number, number];
}

/** CPU seconds of each process; null for one that has ended. */
function cpuOf(pids: number[]): (number | null)[] {
  return pids.map((pid) => {
    try {
      return cpuSeconds(pid);
    } catch {
      return null;
    }
  });
}

/** CPU seconds spent between two readings by the processes alive at both. */
function cpuSpent(before: (number | null)[], after: (number | null)[]): number {
  return before.reduce<number>(
    (sum, b, i) => (b === null || after[i] === null ? sum : sum + (after[i] as number) - b),
    0,
  );
}

/**
 * The same GET against two servers in alternating bursts (`rounds` × `burstMs` each, the order
 * swapped every round), so both sides see the same machine: on a loaded shared machine the
 * load moves between two sequential runs by more than the difference being measured.
 */
export async function interleaved(
  sides: [InterleavedSide, InterleavedSide],
  options: { connections: number; rounds: number; burstMs: number },
): Promise<InterleavedResult> {
  const agents = sides.map(() => new Agent({ keepAlive: true, maxSockets: options.connections }));
  const totals = sides.map(() => ({ requests: 0, ms: 0, cpu: 0, alsoCpu: 0, clientCpu: 0 }));
  const burst = async (i: number) => {
    const side = sides[i];
    const target = new URL(side.url);
    const alsoPids = (await side.alsoPids?.()) ?? [];
    const also0 = cpuOf(alsoPids);
    const cpu0 = cpuSeconds(side.pid);
    const client0 = process.cpuUsage();
    const started = performance.now();
    const deadline = started + options.burstMs;
    let requests = 0;
    await Promise.all(
      Array.from({ length: options.connections }, async () => {
        while (performance.now() < deadline) {
          await once(agents[i], target, side.headers ?? {});
          requests++;
        }
      }),
    );
    totals[i].ms += performance.now() - started;
    const client = process.cpuUsage(client0);
    totals[i].clientCpu += (client.user + client.system) / 1e6;
    totals[i].requests += requests;
    totals[i].cpu += cpuSeconds(side.pid) - cpu0;
    totals[i].alsoCpu += cpuSpent(also0, cpuOf(alsoPids));
  };
  // Warm-up: connections, JIT and caches on both sides.
  await burst(0);
  await burst(1);
  totals.forEach((t) => Object.assign(t, { requests: 0, ms: 0, cpu: 0, alsoCpu: 0, clientCpu: 0 }));
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      await burst(i);
    }
  }
  agents.forEach((agent) => agent.destroy());
  const rps = totals.map((t) => (t.requests * 1000) / t.ms) as [number, number];
  return {
    ratio: rps[0] / rps[1],
    rps,
    cpuMs: totals.map((t) => (t.cpu * 1000) / Math.max(1, t.requests)) as [number, number],
    requests: totals.map((t) => t.requests) as [number, number],
    alsoCpuMs: totals.map((t, i) =>
      sides[i].alsoPids ? (t.alsoCpu * 1000) / Math.max(1, t.requests) : null,
    ) as [number | null, number | null],
    clientCpuMs: totals.map((t) => (t.clientCpu * 1000) / Math.max(1, t.requests)) as [
      number,
      number,
    ],
  };
}
