/** Stream fan-out: one `/stream <n>` turn to 100 and 1,000 subscribers, ours and raw. */
import { Agent } from 'node:http';

import { percentile } from 'bench/bench-process';
import { subscribe } from 'bench/http-load';
import { FANOUT_DELTAS, wanted } from 'bench/suite/options';
import { userMessage } from 'bench/suite/servers';
import { Suite } from 'bench/suite/setup';
import { record } from 'bench/suite/table';

/** Subscribers on `url`; POST `go()`; time until every one has `done` (frames after the POST). */
async function fanOut(
  url: string,
  n: number,
  go: () => Promise<unknown>,
  done: string,
): Promise<{ seconds: number; frames: number; p50: number; p99: number; firstMs: number }> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const subscribers = await subscribe(url, n, agent);
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const s of subscribers) {
    s.reset();
    s.frames = 0;
  }
  const t0 = performance.now();
  const finished = subscribers.map((s) => s.waitFor(done, 0));
  await go();
  const times = (await Promise.all(finished)).map((t) => t - t0).sort((x, y) => x - y);
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
  };
}

export async function fanout({ api, echo, ours: warm, raw }: Suite): Promise<void> {
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
    );
    const b = await fanOut(
      `${raw.url}/stream`,
      n,
      () => fetch(`${raw.url}/go`, { method: 'POST' }),
      'event: response.completed',
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
        metric: 'p99 ms POST→completed',
        ours: a.p99,
        raw: b.p99,
        detail: 'raw/ours',
      },
      false,
    );
  }
}
