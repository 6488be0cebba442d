/** Idle streams: RSS and heartbeat CPU with many subscribers that receive only heartbeats. */
import { Agent } from 'node:http';

import { cpuSeconds, rssMb } from 'bench/bench-process';
import { subscribe } from 'bench/http-load';
import { HEARTBEAT_MS, IDLE_STREAMS, QUICK, wanted } from 'bench/suite/options';
import { Suite } from 'bench/suite/setup';
import { record } from 'bench/suite/table';

export async function idle({ api, echo, ours: warm, raw }: Suite): Promise<void> {
  if (wanted('idle')) {
    const idleOf = async (url: string, pid: number) => {
      const before = rssMb(pid);
      const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
      const subscribers = await subscribe(url, IDLE_STREAMS, agent);
      await new Promise((resolve) => setTimeout(resolve, 2 * HEARTBEAT_MS));
      const cpu0 = cpuSeconds(pid);
      const window = QUICK ? 3_000 : 10_000;
      await new Promise((resolve) => setTimeout(resolve, window));
      const cpu = (cpuSeconds(pid) - cpu0) / (window / 1000);
      const rss = rssMb(pid);
      for (const s of subscribers) {
        s.close();
      }
      agent.destroy();
      return { before, rss, cpu };
    };
    const idleSession = (await api.call<{ id: string }>('POST', '/v1/sessions', { agent_id: echo }))
      .body.id;
    const a = await idleOf(
      `${warm.url}/v1/sessions/${idleSession}/stream`,
      warm.proc.pid as number,
    );
    const b = await idleOf(`${raw.url}/stream`, raw.proc.pid as number);
    record(
      {
        scenario: `${IDLE_STREAMS} idle streams`,
        metric: 'RSS MB',
        ours: a.rss,
        raw: b.rss,
        detail: `idle before: ${a.before.toFixed(0)}/${b.before.toFixed(0)} MB`,
      },
      false,
    );
    record(
      {
        scenario: `${IDLE_STREAMS} idle streams`,
        metric: 'CPU % (heartbeat 1 s)',
        ours: a.cpu * 100,
        raw: b.cpu * 100,
        detail: 'one core = 100',
      },
      false,
    );
  }
}
