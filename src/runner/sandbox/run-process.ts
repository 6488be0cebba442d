import { ChildProcess } from 'node:child_process';

import { ToolSandbox } from 'src/runner/sandbox/tool-sandbox';

/** Runs a command in the sandbox with a timeout and an output cap per stream. */
export function runProcess(
  sandbox: ToolSandbox,
  argv: string[],
  timeoutMs: number,
  maxBytes: number,
): Promise<{ stdout: string; stderr: string; exit_code: number | null; timed_out: boolean }> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = sandbox.spawn(argv, { detached: true, stdin: 'ignore' });
    } catch (error) {
      resolve({ stdout: '', stderr: (error as Error).message, exit_code: null, timed_out: false });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const sizes = { out: 0, err: 0 };
    const collect = (into: Buffer[], key: 'out' | 'err') => (chunk: Buffer) => {
      const room = maxBytes - sizes[key];
      if (room > 0) {
        into.push(chunk.subarray(0, room));
        sizes[key] += Math.min(room, chunk.length);
      }
    };
    child.stdout?.on('data', collect(out, 'out'));
    child.stderr?.on('data', collect(err, 'err'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    const done = (code: number | null) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exit_code: code,
        timed_out: timedOut,
      });
    };
    child.on('error', (error) => {
      err.push(Buffer.from(error.message));
      done(null);
    });
    child.on('close', (code) => done(code));
  });
}
