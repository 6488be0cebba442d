import { ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

import { BuiltinTool, ToolContext } from 'src/runner/tools/tool';

export const SHELL_DEFAULT_TIMEOUT_MS = 30_000;
export const SHELL_MAX_TIMEOUT_MS = 600_000;
/** Combined stdout+stderr kept for the model; the rest is counted and dropped. */
export const SHELL_MAX_OUTPUT_BYTES = 64 * 1024;

// After killing the group, a process that escaped it (setsid) may still hold our pipes open;
// give up waiting for them after this long instead of hanging the turn. (In the sandbox nothing
// escapes: killing bwrap tears down its PID namespace and every process in it.)
const KILL_GRACE_MS = 1000;

function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) {
    return signal.reason;
  }
  const error = new Error('The shell command was aborted');
  error.name = 'AbortError';
  return error;
}

function run(command: string, timeoutMs: number, context: ToolContext): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    // detached = setsid: the command and everything it starts share one process group that a
    // single kill(-pid) reaches, so a timeout or interrupt leaves no stragglers behind.
    let child: ChildProcess;
    try {
      child = context.sandbox.spawn(['/bin/sh', '-c', command], {
        detached: true,
        stdin: 'ignore',
      });
    } catch (error) {
      resolve(`Error: could not start the tool sandbox: ${(error as Error).message}`);
      return;
    }
    const stdout = child.stdout as NodeJS.ReadableStream & { destroy(): void };
    const stderr = child.stderr as NodeJS.ReadableStream & { destroy(): void };
    let output = '';
    let captured = 0;
    let dropped = 0;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let timedOut = false;
    let aborted = false;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const onData = (decoder: StringDecoder) => (chunk: Buffer) => {
      const room = SHELL_MAX_OUTPUT_BYTES - captured;
      if (room <= 0) {
        dropped += chunk.length;
        return;
      }
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      dropped += chunk.length - piece.length;
      captured += piece.length;
      // NUL cannot be stored (PostgreSQL text and jsonb refuse it); `cat /proc/*/environ` has many.
      const text = decoder.write(piece).replace(/\0/g, '\uFFFD');
      if (text !== '') {
        output += text;
        context.onOutputDelta?.(text);
      }
    };
    stdout.on('data', onData(new StringDecoder('utf8')));
    stderr.on('data', onData(new StringDecoder('utf8')));

    const finish = (): void => {
      if (settled) {
        return;
      }
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      context.signal.removeEventListener('abort', onAbort);
      if (aborted) {
        reject(abortError(context.signal));
        return;
      }
      resolve(formatResult(output, dropped, { exitCode, exitSignal, timedOut, timeoutMs }));
    };

    const killGroup = (): void => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // ESRCH: the group is already gone.
        }
      }
      graceTimer ??= setTimeout(() => {
        stdout.destroy();
        stderr.destroy();
        finish();
      }, KILL_GRACE_MS);
    };

    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    context.signal.addEventListener('abort', onAbort, { once: true });

    child.on('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
    });
    child.on('close', finish);
    child.on('error', (error) => {
      if (settled) {
        return;
      }
      settled = true;
      clearTimeout(timer);
      context.signal.removeEventListener('abort', onAbort);
      resolve(`Error: could not start /bin/sh: ${error.message}`);
    });
  });
}

function formatResult(
  output: string,
  dropped: number,
  status: {
    exitCode: number | null;
    exitSignal: NodeJS.Signals | null;
    timedOut: boolean;
    timeoutMs: number;
  },
): string {
  const lines: string[] = [];
  if (output !== '') {
    lines.push(output.endsWith('\n') ? output.slice(0, -1) : output);
  }
  if (dropped > 0) {
    lines.push(
      `[output truncated at ${SHELL_MAX_OUTPUT_BYTES / 1024} KiB; ${dropped} more bytes not shown]`,
    );
  }
  if (status.timedOut) {
    lines.push(`[timed out after ${status.timeoutMs} ms; the command was killed]`);
  } else if (status.exitCode !== null) {
    lines.push(`[exit code ${status.exitCode}]`);
  } else {
    lines.push(`[killed by signal ${status.exitSignal ?? 'unknown'}]`);
  }
  return lines.join('\n');
}

async function execute(args: Record<string, unknown>, context: ToolContext): Promise<string> {
  const command = args.command;
  if (typeof command !== 'string' || command.trim() === '') {
    return 'Error: command is required and must be a non-empty string';
  }
  let timeoutMs = SHELL_DEFAULT_TIMEOUT_MS;
  if (args.timeout_ms !== undefined && args.timeout_ms !== null) {
    const requested = args.timeout_ms;
    if (typeof requested !== 'number' || !Number.isFinite(requested) || requested <= 0) {
      return 'Error: timeout_ms must be a positive number of milliseconds';
    }
    timeoutMs = Math.min(Math.max(1, Math.floor(requested)), SHELL_MAX_TIMEOUT_MS);
  }
  if (context.signal.aborted) {
    throw abortError(context.signal);
  }
  return run(command, timeoutMs, context);
}

export const shellTool: BuiltinTool = {
  name: 'shell',
  description:
    'Run a command with /bin/sh -c in the workspace directory. stdout and stderr are combined; ' +
    `output beyond ${SHELL_MAX_OUTPUT_BYTES / 1024} KiB is cut. The result ends with the exit ` +
    `code. The command is killed after timeout_ms (default ${SHELL_DEFAULT_TIMEOUT_MS / 1000} s, ` +
    `max ${SHELL_MAX_TIMEOUT_MS / 1000} s). It runs sandboxed where the runner has a sandbox: ` +
    'only the workspace is writable and the environment is minimal.',
  parameters: {
    type: 'object',
    properties: {
      command: { type: 'string', description: 'The shell command line to run.' },
      timeout_ms: {
        type: 'integer',
        minimum: 1,
        maximum: SHELL_MAX_TIMEOUT_MS,
        description: `Time limit in milliseconds. Defaults to ${SHELL_DEFAULT_TIMEOUT_MS}.`,
      },
    },
    required: ['command'],
    additionalProperties: false,
  },
  execute,
};
