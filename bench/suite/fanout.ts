/** Stream fan-out: one `/stream <n>` turn to 100 and 1,000 subscribers, ours and raw. */
import { Agent } from 'node:http';

import { cpuSeconds, percentile } from 'bench/bench-process';
import { subscribe } from 'bench/http-load';
import { FANOUT_DELTAS, wanted } from 'bench/suite/options';
import { userMessage } from 'bench/suite/servers';
import { Suite } from 'bench/suite/setup';
import { record } from 'bench/suite/table';

interface FanOutResult {
  seconds: number;
  frames: number;
  p50: number;
  p99: number;
  firstMs: number;
  /** CPU seconds from the POST until every subscriber was done: this process (the subscribers). */
  clientCpu: number;
  /** The same window, the server's process (and, for ours, its runner's). */
  serverCpu: number;
}

/** CPU seconds of `pids` together (a process that has ended counts 0). */
function cpuOf(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      return sum + cpuSeconds(pid);
    } catch {
      return sum;
    }
  }, 0);
}

/**
 * Subscribers on `url`; POST `go()`; time until every one has `done` (frames after the POST).
 * The subscribers' CPU is measured too: when it nears a core (this machine has two), the client
 * rather than the server may be what sets a side's rate (see PERFORMANCE.md, the bench's client).
 */
async function fanOut(
  url: string,
  n: number,
  go: () => Promise<unknown>,
  done: string,
  serverPids: number[],
): Promise<FanOutResult> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const subscribers = await subscribe(url, n, agent);
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const s of subscribers) {
    s.reset();
    s.frames = 0;
  }
  const client0 = process.cpuUsage();
  const server0 = cpuOf(serverPids);
  const t0 = performance.now();
  const finished = subscribers.map((s) => s.waitFor(done, 0));
  await go();
  const times = (await Promise.all(finished)).map((t) => t - t0).sort((x, y) => x - y);
  const client = process.cpuUsage(client0);
  const serverCpu = cpuOf(serverPids) - server0;
  const frames = subscribers.reduce((sum, s) => sum + s.frames, 0);
  for (const s of subscribers) {
    s.close();
  }
  agent.destroy();
  return {
    seconds: (times[times.length - 1] ?? 0) / 1000,
    frames,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    firstMs: times[0] ?? 0,
    clientCpu: (client.user + client.system) / 1e6,
    serverCpu,
  };
}

/** CPU ms per 1,000 frames delivered. */
function perThousand(cpu: number, r: FanOutResult): number {
  return (cpu * 1e6) / Math.max(1, r.frames);
}

/** CPU seconds per second of the window, as a share of one core: `0.93` is 93 % of a core. */
function cores(cpu: number, r: FanOutResult): string {
  return (cpu / r.seconds).toFixed(2);
}

export async function fanout({ api, echo, ours: warm, raw, runner }: Suite): Promise<void> {
  for (const n of [100, 1_000]) {
    if (!wanted('fanout')) {
      break;
    }
    const session = (await api.call<{ id: string }>('POST', '/v1/sessions', { agent_id: echo }))
      .body.id;
    const a = await fanOut(
      `${warm.url}/v1/sessions/${session}/stream`,
      n,
      () =>
        api.call('POST', `/v1/sessions/${session}/events`, userMessage(`/stream ${FANOUT_DELTAS}`)),
      'event: response.completed',
      [warm.proc.pid!, runner.pid!],
    );
    const b = await fanOut(
      `${raw.url}/stream`,
      n,
      () => fetch(`${raw.url}/go`, { method: 'POST' }),
      'event: response.completed',
      [raw.proc.pid!],
    );
    record({
      scenario: `fan-out to ${n}`,
      metric: 'frames/s delivered',
      ours: a.frames / a.seconds,
      raw: b.frames / b.seconds,
      detail: `${FANOUT_DELTAS} deltas; all done p50 ${a.p50.toFixed(0)}/${b.p50.toFixed(0)} ms, p99 ${a.p99.toFixed(0)}/${b.p99.toFixed(0)} ms; ${a.frames}/${b.frames} frames`,
    });
    record(
      {
        scenario: `fan-out to ${n}`,
        metric: 'server CPU ms/1k frames',
        ours: perThousand(a.serverCpu, a),
        raw: perThousand(b.serverCpu, b),
        detail:
          `raw/ours; ours with its runner; the subscribers (this process) ` +
          `${perThousand(a.clientCpu, a).toFixed(0)}/${perThousand(b.clientCpu, b).toFixed(0)} ms, ` +
          `${cores(a.clientCpu, a)}/${cores(b.clientCpu, b)} of a core (near 1: the client sets the rate)`,
      },
      false,
    );
    record(
      {
        scenario: `fan-out to ${n}`,
        metric: 'p99 ms POST→completed',
        ours: a.p99,
        raw: b.p99,
        detail: 'raw/ours',
      },
      false,
    );
  }
}
