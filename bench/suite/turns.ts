/** Turn overhead: one session alone, then 50 sessions posting turns back to back. */
import { Agent } from 'node:http';

import { percentile } from 'bench/bench-process';
import { subscribe } from 'bench/http-load';
import { LOAD_MS, TURN_SESSIONS, wanted } from 'bench/suite/options';
import { Api, userMessage } from 'bench/suite/servers';
import { Suite } from 'bench/suite/setup';
import { record } from 'bench/suite/table';

/**
 * `count` sessions each posting turns back to back for LOAD_MS: turns/s, POST → first
 * `response.output_text.delta` and POST → `response.completed` (p50/p99).
 */
async function turns(base: string, api: Api, echo: string, count: number): Promise<void> {
  const sessions = await Promise.all(
    Array.from(
      { length: count },
      async () =>
        (await api.call<{ id: string }>('POST', '/v1/sessions', { agent_id: echo })).body.id,
    ),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const streams = await Promise.all(
    sessions.map(async (s) => (await subscribe(`${base}/v1/sessions/${s}/stream`, 1, agent))[0]),
  );
  const firstDelta: number[] = [];
  const done: number[] = [];
  const deadline = performance.now() + LOAD_MS;
  const t0 = performance.now();
  await Promise.all(
    sessions.map(async (s, i) => {
      const stream = streams[i];
      while (performance.now() < deadline) {
        stream.reset();
        const delta = stream.waitFor('event: response.output_text.delta', 0);
        const end = stream.waitFor('event: response.completed', 0);
        const posted = performance.now();
        await api.call('POST', `/v1/sessions/${s}/events`, userMessage('hello there, bench'));
        firstDelta.push((await delta) - posted);
        done.push((await end) - posted);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  for (const s of streams) {
    s.close();
  }
  agent.destroy();
  firstDelta.sort((x, y) => x - y);
  done.sort((x, y) => x - y);
  record({
    scenario: `turns, ${count} session${count === 1 ? '' : 's'}`,
    metric: 'turns/s',
    ours: done.length / seconds,
    raw: null,
    detail:
      `POST→first delta p50 ${percentile(firstDelta, 50).toFixed(1)} ms p99 ${percentile(firstDelta, 99).toFixed(1)} ms; ` +
      `POST→completed p50 ${percentile(done, 50).toFixed(1)} ms p99 ${percentile(done, 99).toFixed(1)} ms`,
  });
}

export async function turnScenarios({ api, echo, ours: warm }: Suite): Promise<void> {
  if (wanted('turns')) {
    // One session alone first: the fixed cost of a turn, without queueing behind others.
    for (const count of [1, TURN_SESSIONS]) {
      await turns(warm.url, api, echo, count);
    }
  }
}
