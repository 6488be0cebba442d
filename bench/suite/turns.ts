/**
 * Turn overhead: one session alone, then 50 sessions posting turns back to back, each on our
 * server and on the turn harness (`bench/turn-harness.ts`: the same reference runner behind a
 * `node:http` + `ws` server with no database), in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { busyShare, cpuSeconds, machineTicks, percentile, stop } from 'bench/bench-process';
import { subscribe } from 'bench/http-load';
import { LOAD_MS, TURN_SESSIONS, wanted } from 'bench/suite/options';
import { Api, startHarness, userMessage } from 'bench/suite/servers';
import { Suite } from 'bench/suite/setup';
import { record } from 'bench/suite/table';

/** Turns before the measured ones, on each server: its turn path compiled (JIT) first. */
const WARMUP_MS = 1_000;

interface TurnResult {
  rate: number;
  /** POST → first `response.output_text.delta` (ms), sorted. */
  firstDelta: number[];
  /** POST → `response.completed` (ms), sorted. */
  done: number[];
  /** The server's CPU (ms) per turn: steadier than the times on a loaded machine. */
  cpuMs: number;
  /**
   * The share of the whole machine's CPU that was busy while they ran (0–1): well under 1 with
   * one session means the turn is a chain of hops waiting on each other, not on the cores.
   */
  busy: number;
}

/** `count` sessions of the echo agent, each posting turns back to back for LOAD_MS. */
async function turns(base: string, pid: number, echo: string, count: number): Promise<TurnResult> {
  const api = new Api(base);
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
  /** Turns back to back on every session until `until`; their times go to the arrays given. */
  const run = (until: number, deltas: number[], ends: number[]) =>
    Promise.all(
      sessions.map(async (s, i) => {
        const stream = streams[i];
        while (performance.now() < until) {
          stream.reset();
          const delta = stream.waitFor('event: response.output_text.delta', 0);
          const end = stream.waitFor('event: response.completed', 0);
          const posted = performance.now();
          await api.call('POST', `/v1/sessions/${s}/events`, userMessage('hello there, bench'));
          deltas.push((await delta) - posted);
          ends.push((await end) - posted);
        }
      }),
    );
  // Not measured: the first turns of a process compile its turn path (both servers alike).
  await run(performance.now() + WARMUP_MS, [], []);
  const t0 = performance.now();
  const cpu0 = cpuSeconds(pid);
  const ticks0 = machineTicks();
  await run(t0 + LOAD_MS, firstDelta, done);
  const busy = busyShare(ticks0, machineTicks());
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = ((cpuSeconds(pid) - cpu0) * 1000) / done.length;
  for (const s of streams) {
    s.close();
  }
  agent.destroy();
  firstDelta.sort((x, y) => x - y);
  done.sort((x, y) => x - y);
  return { rate: done.length / seconds, firstDelta, done, cpuMs, busy };
}

const ms = (sorted: number[], p: number) => percentile(sorted, p).toFixed(1);
const percent = (share: number) => `${Math.round(share * 100)} %`;

function report(count: number, ours: TurnResult, harness: TurnResult): void {
  const scenario = `turns, ${count} session${count === 1 ? '' : 's'}`;
  record({
    scenario,
    metric: 'turns/s',
    ours: ours.rate,
    raw: harness.rate,
    detail:
      `POST→completed p50 ${ms(ours.done, 50)} ms p99 ${ms(ours.done, 99)} ms ` +
      `(harness ${ms(harness.done, 50)} / ${ms(harness.done, 99)} ms); server CPU per turn ` +
      `${ours.cpuMs.toFixed(2)} ms (harness ${harness.cpuMs.toFixed(2)} ms)`,
  });
  // Issue 12's target: POST → first delta p50 less than 5 ms above the harness's.
  const above = percentile(ours.firstDelta, 50) - percentile(harness.firstDelta, 50);
  record(
    {
      scenario,
      metric: 'POST→first delta p50 ms',
      ours: percentile(ours.firstDelta, 50),
      raw: percentile(harness.firstDelta, 50),
      detail:
        `${above.toFixed(1)} ms above the harness${count === 1 ? ' (target < 5 ms)' : ''}; p99 ${ms(ours.firstDelta, 99)} ms ` +
        `(harness ${ms(harness.firstDelta, 99)} ms); the machine ${percent(ours.busy)} busy ` +
        `(harness ${percent(harness.busy)})`,
    },
    false,
  );
}

export async function turnScenarios({ echo, ours }: Suite): Promise<void> {
  if (!wanted('turns')) {
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'omnigent-bench-harness-'));
  const harness = await startHarness(dir);
  try {
    // One session alone first: the fixed cost of a turn, without queueing behind others.
    for (const count of [1, TURN_SESSIONS]) {
      const mine = await turns(ours.url, ours.proc.pid!, echo, count);
      report(count, mine, await turns(harness.server.url, harness.server.proc.pid!, echo, count));
    }
  } finally {
    await stop(harness.runner);
    await stop(harness.server.proc);
    rmSync(dir, { recursive: true, force: true });
  }
}
