/**
 * Soak run: a real server process and a real runner process under mixed load for a while, with
 * the resident memory (RSS) and open file descriptors of both sampled from /proc. Fails when
 * either grows past its bound between the settled start and the end of the run.
 *
 * Load: SOAK_CONCURRENCY workers, each in a loop: create a session, open its stream, post a
 * message and wait for the turn's terminal event on the stream, close the stream; every 4th
 * session stays (idle: the runner must release it after --session-idle-ms), the others are
 * deleted; every 10th loop uploads a bundle, forks the session it created and deletes both.
 *
 *   npm run bench:soak                                     # 30 s, 8 workers
 *   SOAK_DURATION_S=240 SOAK_CONCURRENCY=20 npm run bench:soak
 *
 * Other knobs: BENCH_DATABASE_URL (admin URL; a scratch database is created and dropped),
 * SOAK_SAMPLE_MS (2000), SOAK_SESSION_IDLE_MS (runner --session-idle-ms, 5000),
 * SOAK_MAX_RSS_GROWTH_MB (40, per process), SOAK_MAX_FD_GROWTH (16, per process).
 * Growth = median of the last quarter of samples minus median of the second quarter (the first
 * quarter is warm-up: JIT, pools, caches).
 */
import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import {
  admin,
  BIN,
  databaseUrl,
  median,
  rssMb,
  startNode,
  stop,
  waitForOutput,
} from 'bench/bench-process';

const env = process.env;
const DURATION_S = Number(env.SOAK_DURATION_S ?? 30);
const CONCURRENCY = Number(env.SOAK_CONCURRENCY ?? 8);
const SAMPLE_MS = Number(env.SOAK_SAMPLE_MS ?? 2000);
const SESSION_IDLE_MS = Number(env.SOAK_SESSION_IDLE_MS ?? 5000);
const MAX_RSS_GROWTH_MB = Number(env.SOAK_MAX_RSS_GROWTH_MB ?? 40);
const MAX_FD_GROWTH = Number(env.SOAK_MAX_FD_GROWTH ?? 16);
const TURN_TIMEOUT_MS = 30_000;

interface Sample {
  t: number;
  serverRssMb: number;
  serverFds: number;
  runnerRssMb: number;
  runnerFds: number;
  turns: number;
}

const counters = { turns: 0, sessions: 0, uploads: 0, forks: 0, errors: 0, kept: 0 };
const errors: string[] = [];

const start = (args: string[], extraEnv: Record<string, string>): ChildProcess =>
  startNode([BIN, ...args], extraEnv);

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** A minimal echo-harness bundle, unique per upload. */
function bundle(name: string): Buffer {
  const files: [string, string][] = [
    [
      'config.yaml',
      `name: ${name}\ndescription: soak\ninstructions: instructions.md\nexecutor:\n  harness: echo\n`,
    ],
    ['instructions.md', `# ${name}\n${randomBytes(64).toString('hex')}\n`],
  ];
  // A tar by hand: 512-byte headers, content padded to 512; two zero blocks at the end.
  const blocks: Buffer[] = [];
  for (const [path, content] of files) {
    const body = Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(path, 0);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) {
      sum += byte;
    }
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

class Api {
  constructor(readonly url: string) {}

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> {
    const res = await fetch(new URL(path, this.url), {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 300)}`);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  async upload(name: string): Promise<string> {
    const form = new FormData();
    form.set('metadata', '{}');
    form.set('bundle', new Blob([bundle(name)]), 'agent.tar.gz');
    const res = await fetch(new URL('/v1/sessions', this.url), { method: 'POST', body: form });
    const text = await res.text();
    if (!res.ok) {
      throw new Error(`upload → ${res.status} ${text.slice(0, 300)}`);
    }
    return (JSON.parse(text) as { session_id: string }).session_id;
  }

  /** Opens the stream, posts the message, resolves on the turn's terminal event. */
  async turn(sessionId: string, text: string): Promise<void> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TURN_TIMEOUT_MS);
    try {
      const res = await fetch(new URL(`/v1/sessions/${sessionId}/stream`, this.url), {
        headers: { Accept: 'text/event-stream' },
        signal: abort.signal,
      });
      if (!res.ok || !res.body) {
        throw new Error(`stream → ${res.status}`);
      }
      const reader = res.body.getReader();
      await this.call('POST', `/v1/sessions/${sessionId}/events`, {
        type: 'message',
        data: { role: 'user', content: [{ type: 'input_text', text }] },
      });
      const decoder = new TextDecoder();
      let buffered = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          throw new Error('stream ended before the turn did');
        }
        buffered += decoder.decode(value, { stream: true });
        const terminal = /event: (response\.(completed|failed|incomplete|cancelled))/.exec(
          buffered,
        );
        if (terminal) {
          if (terminal[1] !== 'response.completed') {
            throw new Error(`turn ended with ${terminal[1]}`);
          }
          return;
        }
        buffered = buffered.slice(-200);
      }
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }
}

async function worker(
  api: Api,
  ids: { echo: string; runner: string },
  deadline: number,
  index: number,
): Promise<void> {
  for (let loop = 0; Date.now() < deadline; loop++) {
    try {
      const session = await api.call<{ id: string }>('POST', '/v1/sessions', {
        agent_id: ids.echo,
        title: `soak ${index}/${loop}`,
      });
      counters.sessions++;
      await api.turn(session.id, `hello ${loop}`);
      counters.turns++;
      if (loop % 4 === 0) {
        counters.kept++;
      } else {
        await api.call('DELETE', `/v1/sessions/${session.id}`);
      }
      if (loop % 10 === 5) {
        const uploaded = await api.upload(`soak-${index}-${loop}`);
        counters.uploads++;
        const fork = await api.call<{ id: string }>('POST', `/v1/sessions/${uploaded}/fork`, {});
        counters.forks++;
        // A fork starts without a runner (like upstream); bind it to ours.
        await api.call('PATCH', `/v1/sessions/${fork.id}`, { runner_id: ids.runner });
        await api.turn(fork.id, 'from a fork');
        counters.turns++;
        await api.call('DELETE', `/v1/sessions/${uploaded}`);
        await api.call('DELETE', `/v1/sessions/${fork.id}`);
      }
    } catch (error) {
      counters.errors++;
      if (errors.length < 10) {
        errors.push((error as Error).message);
      }
    }
  }
}

function row(cells: (string | number)[]): string {
  return cells.map((c) => String(c).padStart(10)).join(' ');
}

async function main(): Promise<void> {
  const dbName = `omnigent_soak_${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'omnigent-soak-'));
  const workspace = mkdtempSync(join(tmpdir(), 'omnigent-soak-ws-'));
  await admin(`CREATE DATABASE ${dbName}`);
  const server = start(['serve'], {
    DATABASE_URL: databaseUrl(dbName),
    OMNIGENT_PORT: '0',
    OMNIGENT_DATA_DIR: dataDir,
    OMNIGENT_LOCAL_RUNNER: '0',
    // `log` prints the "Listening on" line this waits for.
    OMNIGENT_LOG_LEVEL: 'log',
  });
  let runner: ChildProcess | undefined;
  try {
    const url = await waitForOutput(server, /Listening on (http:\/\/[0-9.:[\]]+)/, 60_000);
    runner = start(
      [
        'runner',
        '--server',
        url,
        '--workspace',
        workspace,
        '--session-idle-ms',
        String(SESSION_IDLE_MS),
      ],
      { OMNIGENT_LOG_LEVEL: 'warn' },
    );
    const runnerId = await waitForOutput(runner, /Runner (runner_\S+) connected/, 30_000);
    const api = new Api(url);
    const agents = await api.call<{ data: { id: string; name: string }[] }>(
      'GET',
      '/v1/agents?limit=100',
    );
    const echoId = agents.data.find((a) => a.name === 'echo')?.id;
    if (!echoId) {
      throw new Error('no echo agent');
    }
    const serverPid = server.pid as number;
    const runnerPid = runner.pid as number;
    const started = Date.now();
    const deadline = started + DURATION_S * 1000;
    const samples: Sample[] = [];
    const sample = () =>
      samples.push({
        t: (Date.now() - started) / 1000,
        serverRssMb: rssMb(serverPid),
        serverFds: fds(serverPid),
        runnerRssMb: rssMb(runnerPid),
        runnerFds: fds(runnerPid),
        turns: counters.turns,
      });
    console.log(
      `soak: ${DURATION_S} s, node ${process.version}, ${os.cpus().length} cores, ${CONCURRENCY} workers, sample every ${SAMPLE_MS} ms, ` +
        `runner --session-idle-ms ${SESSION_IDLE_MS}`,
    );
    console.log(row(['t (s)', 'server MB', 'server fd', 'runner MB', 'runner fd', 'turns']));
    sample();
    const sampler = setInterval(() => {
      sample();
      const s = samples[samples.length - 1];
      console.log(
        row([
          s.t.toFixed(0),
          s.serverRssMb.toFixed(1),
          s.serverFds,
          s.runnerRssMb.toFixed(1),
          s.runnerFds,
          s.turns,
        ]),
      );
    }, SAMPLE_MS);
    await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, i) =>
        worker(api, { echo: echoId, runner: runnerId }, deadline, i),
      ),
    );
    clearInterval(sampler);
    // Idle: the kept sessions pass their idle time and the runner should let them go.
    await new Promise((resolve) => setTimeout(resolve, SESSION_IDLE_MS * 2 + SAMPLE_MS));
    sample();
    const idle = samples[samples.length - 1];

    const quarter = Math.max(1, Math.floor(samples.length / 4));
    const settled = samples.slice(quarter, 2 * quarter);
    const last = samples.slice(-quarter);
    const growth = (pick: (s: Sample) => number) =>
      median(last.map(pick)) - median(settled.map(pick));
    const results = [
      ['server RSS (MB)', growth((s) => s.serverRssMb), MAX_RSS_GROWTH_MB],
      ['server fds', growth((s) => s.serverFds), MAX_FD_GROWTH],
      ['runner RSS (MB)', growth((s) => s.runnerRssMb), MAX_RSS_GROWTH_MB],
      ['runner fds', growth((s) => s.runnerFds), MAX_FD_GROWTH],
    ] as const;
    const elapsed = (Date.now() - started) / 1000 - (SESSION_IDLE_MS * 2 + SAMPLE_MS) / 1000;
    console.log(
      `\n${counters.turns} turns (${(counters.turns / elapsed).toFixed(1)}/s), ` +
        `${counters.sessions} sessions (${counters.kept} kept idle), ${counters.uploads} uploads, ` +
        `${counters.forks} forks, ${counters.errors} errors`,
    );
    console.log(
      `after ${((SESSION_IDLE_MS * 2 + SAMPLE_MS) / 1000).toFixed(0)} s idle: server ` +
        `${idle.serverRssMb.toFixed(1)} MB / ${idle.serverFds} fds, runner ` +
        `${idle.runnerRssMb.toFixed(1)} MB / ${idle.runnerFds} fds`,
    );
    console.log(`\n${row(['growth', 'measured', 'bound', 'result'])}`);
    let failed = false;
    for (const [label, value, bound] of results) {
      const ok = value <= bound;
      failed ||= !ok;
      console.log(
        `${label.padEnd(16)} ${value.toFixed(1).padStart(10)} ${String(bound).padStart(10)} ${ok ? 'ok' : 'FAIL'}`,
      );
    }
    if (errors.length > 0) {
      console.log(`\nfirst errors:\n  ${errors.join('\n  ')}`);
    }
    // A few errors under a shared machine's load are noise; a broken path is not.
    if (counters.errors > Math.max(2, counters.turns / 100)) {
      console.log(`FAIL: ${counters.errors} errors`);
      failed = true;
    }
    process.exitCode = failed ? 1 : 0;
  } finally {
    if (runner) {
      await stop(runner);
    }
    await stop(server);
    await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exitCode = 1;
});
