/**
 * A small keep-alive load generator and SSE subscriber for `npm run bench` (the same client
 * drives our server and the raw baseline, so its own cost is in both sides of a ratio).
 */
import { Agent, IncomingMessage, request } from 'node:http';
import { connect, Socket } from 'node:net';

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

/**
 * Which client the loads use: `node:http` (default) or, with `BENCH_CLIENT=net`, `NetClient`
 * below. docs/PERFORMANCE.md "The bench's client": node:http's client costs more per response
 * than the raw baseline does, so on raw's side it, not raw, sets the rate.
 */
export const NET_CLIENT = process.env.BENCH_CLIENT === 'net';

/** The request node:http's client sends for a keep-alive GET with `headers`, byte for byte. */
export function requestBytes(url: URL, headers: Record<string, string>): Buffer {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return Buffer.from(
    `GET ${url.pathname}${url.search} HTTP/1.1\r\n${lines.join('')}Host: ${url.host}\r\n` +
      'Connection: keep-alive\r\n\r\n',
    'latin1',
  );
}

/**
 * One keep-alive connection sending the same GET back to back, one at a time (no pipelining),
 * as node:http's client does, at a fraction of its cost per response: the request's bytes are
 * built once, of each answer only the head is parsed (status, `content-length`), the body's
 * bytes are counted. An answer without a length (chunked, or closed) fails the request: it is
 * not what the read paths answer, and would be measured wrong.
 */
export class NetClient {
  private readonly socket: Socket;
  private head: Buffer | null = null;
  /** Bytes of the current answer still to come once its head is read (-1: head not read). */
  private left = -1;
  private status = 0;
  private bytes = 0;
  private pending: {
    resolve: (r: { status: number; bytes: number }) => void;
    reject: (e: Error) => void;
  } | null = null;

  constructor(
    url: URL,
    private readonly request: Buffer,
  ) {
    this.socket = connect(Number(url.port), url.hostname);
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  get(): Promise<{ status: number; bytes: number }> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.head = null;
      this.left = -1;
      this.socket.write(this.request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = null;
    pending?.reject(error);
  }

  private onData(chunk: Buffer): void {
    if (this.left < 0) {
      this.head = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) {
        return;
      }
      const head = this.head.toString('latin1', 0, end);
      this.status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length && this.status !== 304 && this.status !== 204) {
        this.fail(new Error(`an answer without content-length: ${head.split('\r\n')[0]}`));
        this.socket.destroy();
        return;
      }
      const body = length ? Number(length[1]) : 0;
      this.bytes = body;
      this.left = body - (this.head.length - end - 4);
      this.head = null;
    } else {
      this.left -= chunk.length;
    }
    if (this.left === 0) {
      const pending = this.pending;
      this.pending = null;
      pending?.resolve({ status: this.status, bytes: this.bytes });
    } else if (this.left < 0) {
      this.fail(new Error('more bytes than the answer announced'));
      this.socket.destroy();
    }
  }
}

/** `connections` clients for GET `url`: node:http's through one agent, or `NetClient`s. */
function clients(
  url: URL,
  headers: Record<string, string>,
  connections: number,
): { get: (i: number) => Promise<{ status: number; bytes: number }>; close: () => void } {
  if (NET_CLIENT) {
    const request = requestBytes(url, headers);
    const pool = Array.from({ length: connections }, () => new NetClient(url, request));
    return { get: (i) => pool[i].get(), close: () => pool.forEach((c) => c.close()) };
  }
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  return { get: () => once(agent, url, headers), close: () => agent.destroy() };
}

/** `connections` keep-alive connections send GET `url` back to back for `durationMs`. */
export async function load(
  url: string,
  options: { connections: number; durationMs: number; headers?: Record<string, string> },
): Promise<LoadResult> {
  const client = clients(new URL(url), options.headers ?? {}, options.connections);
  const latencies: number[] = [];
  const status: Record<number, number> = {};
  let bytes = 0;
  // Warm-up: JIT, pools and caches on both sides.
  for (let i = 0; i < options.connections * 5; i++) {
    await client.get(i % options.connections);
  }
  const started = performance.now();
  const deadline = started + options.durationMs;
  await Promise.all(
    Array.from({ length: options.connections }, async (_, c) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const res = await client.get(c);
        latencies.push(performance.now() - t0);
        status[res.status] = (status[res.status] ?? 0) + 1;
        bytes += res.bytes;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  client.close();
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
  const pools = sides.map((side) =>
    clients(new URL(side.url), side.headers ?? {}, options.connections),
  );
  const totals = sides.map(() => ({ requests: 0, ms: 0, cpu: 0, alsoCpu: 0, clientCpu: 0 }));
  const burst = async (i: number) => {
    const side = sides[i];
    const alsoPids = (await side.alsoPids?.()) ?? [];
    const also0 = cpuOf(alsoPids);
    const cpu0 = cpuSeconds(side.pid);
    const client0 = process.cpuUsage();
    const started = performance.now();
    const deadline = started + options.burstMs;
    let requests = 0;
    await Promise.all(
      Array.from({ length: options.connections }, async (_, c) => {
        while (performance.now() < deadline) {
          await pools[i].get(c);
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
  pools.forEach((pool) => pool.close());
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
