import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { build } from 'esbuild';

import { busyShare, machineTicks } from 'bench/bench-process';

/**
 * The turns bench reports how busy the whole machine was while one session's turns ran
 * (bench/suite/turns.ts): well under 100 % says the turn is a chain of waiting hops. Here, not
 * in test/bench: the guard's Jest run holds the guard alone.
 */
describe('bench/bench-process machineTicks', () => {
  it('reads busy and total ticks of the whole machine', () => {
    const ticks = machineTicks();
    expect(ticks.total).toBeGreaterThan(0);
    expect(ticks.busy).toBeGreaterThan(0);
    expect(ticks.busy).toBeLessThanOrEqual(ticks.total);
  });

  it('gives the busy share of a window, between 0 and 1, and NaN for an empty one', () => {
    const from = machineTicks();
    // Busy for a few clock ticks (10 ms each), so the window holds some.
    const until = Date.now() + 120;
    while (Date.now() < until) {
      // spin
    }
    const share = busyShare(from, machineTicks());
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThanOrEqual(1);
    expect(busyShare(from, from)).toBeNaN();
  });
});

/**
 * A bench that failed or was interrupted once left its servers running, and the next run
 * measured against a machine still serving the last one. Each case runs a script that starts a
 * long-lived child through `startNode` and then dies the way a bench can; the child must die too.
 */
describe('bench/bench-process startNode: children die with the bench', () => {
  let dir: string;
  let module: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omnigent-bench-process-'));
    module = join(dir, 'bench-process.js');
    // The module as the compiled bench runs it (dist/bench is not built before the tests).
    await build({
      entryPoints: [join(__dirname, '..', '..', 'bench', 'bench-process.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      external: ['pg-native'],
      outfile: module,
      logLevel: 'silent',
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `end` (JS) in a process that first started a child; resolves with both outcomes. */
  async function childAfter(
    end: string,
    signal?: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; childAlive: boolean }> {
    const script = [
      `const { startNode } = require(${JSON.stringify(module)});`,
      `const child = startNode(['-e', 'setInterval(() => {}, 1000)']);`,
      `child.once('spawn', () => { console.log('child ' + child.pid); ${end} });`,
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const parent = spawn(process.execPath, ['-e', script], {
      cwd: join(__dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /child (\d+)/.exec(out);
        if (match) {
          resolve(Number(match[1]));
        }
      });
      parent.once('exit', (code) => reject(new Error(`the script exited (${code}) first`)));
    });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      parent.once('exit', (code, sig) => resolve([code, sig])),
    );
    if (signal) {
      parent.kill(signal);
    }
    const [code, sig] = await exited;
    // SIGKILL is immediate; the child is gone (or a zombie of its dead parent, reaped by init).
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { code, signal: sig, childAlive: alive(pid) };
  }

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    // A zombie still answers signal 0; its state in /proc says it is dead.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  }

  it('an uncaught error', async () => {
    const outcome = await childAfter(`throw new Error('scenario failed');`);
    expect(outcome.code).toBe(1);
    expect(outcome.childAlive).toBe(false);
  });

  it('process.exit after a failure (what suite.bench.ts does)', async () => {
    const outcome = await childAfter('process.exit(1);');
    expect(outcome.code).toBe(1);
    expect(outcome.childAlive).toBe(false);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s, and the bench still dies of it', async (signal) => {
    const outcome = await childAfter('', signal);
    expect(outcome.signal).toBe(signal);
    expect(outcome.childAlive).toBe(false);
  });
});
