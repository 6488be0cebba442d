/**
 * What every scenario of `npm run bench` measures against: our server (a first start, then a
 * warm one with fixtures and a runner) and the raw baseline serving the bytes recorded from it.
 */
import { ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { join } from 'node:path';

import { ROOT, startNode, stop, waitForOutput } from 'bench/bench-process';
import { subscribe } from 'bench/http-load';
import { ReadPaths, recordReads, seedReads } from 'bench/read-ratios';
import { FANOUT_DELTAS, HEARTBEAT_MS } from 'bench/suite/options';
import { Api, Server, startRaw, startServer, userMessage } from 'bench/suite/servers';

export interface Suite {
  api: Api;
  /** The id of the built-in echo agent. */
  echo: string;
  /** Our server's first start (database created or migrated), already stopped. */
  first: Server;
  /** Our server, warm: the one every scenario runs against. */
  ours: Server;
  raw: Server;
  runner: ChildProcess;
  /** The read paths, recorded for the raw baseline: a 100-item snapshot, a list, an items page. */
  paths: ReadPaths;
  /** The scratch database (PostgreSQL runs only): its backends' CPU is measured on the reads. */
  databaseUrl?: string;
}

/** Starts everything a run needs; each process started goes into `started` (to stop at the end). */
export async function prepare(
  env: Record<string, string>,
  dir: string,
  started: ChildProcess[],
): Promise<Suite> {
  // Start-up: first (database created or migrated) and warm, against a raw server's start.
  const first = await startServer(env);
  await stop(first.proc);
  const warm = await startServer(env);
  started.push(warm.proc);
  const api = new Api(warm.url);

  const agents = await api.call<{ data: { id: string; name: string }[] }>('GET', '/v1/agents');
  const echo = agents.body.data.find((a) => a.name === 'echo')?.id;
  if (!echo) {
    throw new Error('no echo agent');
  }

  // Fixtures: one 100-item session, 60 more for the list (shared with the CI guard).
  const { id, paths } = await seedReads(api, echo);
  // The runner comes after the seeded session: with a runner online, initial_items start a
  // turn (their items would no longer be the 100 seeded).
  const runner = startNode(
    [join(ROOT, 'bin', 'omnigent.js'), 'runner', '--server', warm.url, '--workspace', dir],
    { OMNIGENT_LOG_LEVEL: 'warn' },
  );
  started.push(runner);
  await waitForOutput(runner, /Runner (runner_\S+) connected/, 60_000);
  const recorded = await recordReads(api, paths);

  const snapshotItems = (JSON.parse(recorded[0].body) as { items: unknown[] }).items.length;
  console.log(
    `${recorded.map((r) => `${r.path.replace(id, '{id}')}: ${r.body.length} B`).join(', ')}; ` +
      `the snapshot holds ${snapshotItems} items`,
  );
  // One /stream turn, recorded from a subscriber, is what the raw baseline fans out.
  const fanSession = (await api.call<{ id: string }>('POST', '/v1/sessions', { agent_id: echo }))
    .body.id;
  const probeAgent = new Agent({ keepAlive: false });
  const [probe] = await subscribe(`${warm.url}/v1/sessions/${fanSession}/stream`, 1, probeAgent);
  await probe.waitFor('\n\n', 0);
  // The connect-time frames (heartbeat ack, the changed-files nudge) are what raw sends on
  // connect; fanOut counts only the frames after its subscribers settled, on both sides.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const ack = probe.text;
  probe.reset();
  const completed = probe.waitFor('event: response.completed', 0);
  await api.call(
    'POST',
    `/v1/sessions/${fanSession}/events`,
    userMessage(`/stream ${FANOUT_DELTAS}`),
  );
  await completed;
  await new Promise((resolve) => setTimeout(resolve, 300));
  const frames = probe.text.split(/(?<=\n\n)/).filter((f) => f.trim() !== '');
  probe.close();
  probeAgent.destroy();
  const heartbeat = ack.split(/(?<=\n\n)/)[0];

  const raw = await startRaw(
    { routes: recorded, ack, heartbeat, heartbeatMs: HEARTBEAT_MS, frames },
    dir,
  );
  started.push(raw.proc);
  // Raw start-up, measured the same way (spawn → listening): node itself, no app.
  return { api, echo, first, ours: warm, raw, runner, paths, databaseUrl: env.DATABASE_URL };
}
