import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { runnerIdForBindingToken } from 'src/protocol/runner-protocol';

const STOP_GRACE_MS = 5_000;
const LOG_TAIL_BYTES = 2_000;

export interface RunnerProcessesOptions {
  stateDir: string;
  serverUrl: string;
  /** `node` and the CLI script that starts `omnigent runner`. */
  command: { execPath: string; script: string };
  /** The environment runners inherit (an allowlist, never the daemon's secrets). */
  env: Record<string, string>;
  /** Directories the runner's tools must never see (the state dir always is one). */
  protectedPaths: string[];
  log(message: string): void;
  onExit(
    runnerId: string,
    exitCode: number | null,
    signal: string | null,
    error: string,
    stopped: boolean,
  ): void;
}

interface Tracked {
  child: ChildProcess;
  sessionId: string;
  logFile: string;
  stopping: boolean;
}

/** What survives a daemon restart: the runners it started, to reap those left behind. */
interface StateFile {
  runners: Record<string, { pid: number; session_id: string }>;
}

/**
 * The runner processes this host started: spawn (binding token in the environment, never in
 * argv), stop, status, exit reports with the log tail, and orphan reaping after a restart.
 */
export class RunnerProcesses {
  private readonly running = new Map<string, Tracked>();
  private readonly stateFile: string;
  private readonly logDir: string;

  constructor(private readonly options: RunnerProcessesOptions) {
    this.stateFile = join(options.stateDir, 'runners.json');
    this.logDir = join(options.stateDir, 'logs');
    mkdirSync(this.logDir, { recursive: true, mode: 0o700 });
  }

  ids(): string[] {
    return [...this.running.keys()];
  }

  status(runnerId: string): 'alive' | 'dead' | 'unknown' {
    const tracked = this.running.get(runnerId);
    if (tracked) {
      return tracked.child.exitCode === null && tracked.child.signalCode === null
        ? 'alive'
        : 'dead';
    }
    return 'unknown';
  }

  /** Starts `omnigent runner` for a session; resolves once the process is running. */
  launch(bindingToken: string, sessionId: string, workspace: string): Promise<string> {
    const runnerId = runnerIdForBindingToken(bindingToken);
    const existing = this.running.get(runnerId);
    if (existing && this.status(runnerId) === 'alive') {
      return Promise.resolve(runnerId);
    }
    const logFile = join(this.logDir, `${runnerId}.log`);
    const out = openSync(logFile, 'w', 0o600);
    const child = spawn(
      this.options.command.execPath,
      [
        this.options.command.script,
        'runner',
        '--server',
        this.options.serverUrl,
        '--workspace',
        join(this.options.stateDir, 'workspaces'),
        ...[this.options.stateDir, ...this.options.protectedPaths].flatMap((p) => [
          '--protected-path',
          p,
        ]),
      ],
      {
        cwd: workspace,
        env: {
          ...this.options.env,
          OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN: bindingToken,
          RUNNER_SERVER_URL: this.options.serverUrl,
          OMNIGENT_RUNNER_ID: runnerId,
          OMNIGENT_RUNNER_WORKSPACE: workspace,
          OMNIGENT_RUNNER_PARENT_PID: String(process.pid),
        },
        stdio: ['ignore', out, out],
      },
    );
    closeSync(out);
    const tracked: Tracked = { child, sessionId, logFile, stopping: false };
    this.running.set(runnerId, tracked);
    return new Promise((resolve, reject) => {
      child.once('error', (error) => {
        this.running.delete(runnerId);
        this.save();
        reject(error);
      });
      child.once('spawn', () => {
        this.save();
        this.options.log(
          `launched runner ${runnerId} for session ${sessionId} (pid ${child.pid}) in ${workspace}`,
        );
        resolve(runnerId);
      });
      child.once('exit', (code, signal) => {
        if (this.running.get(runnerId) === tracked) {
          this.running.delete(runnerId);
          this.save();
        }
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        const tail = logTail(logFile);
        this.options.log(`runner ${runnerId} exited (${how})`);
        this.options.onExit(
          runnerId,
          code,
          signal,
          `runner exited with ${how}${tail ? `: ${tail}` : ''}`,
          tracked.stopping,
        );
      });
    });
  }

  /** SIGTERM, then SIGKILL after a grace. Resolves whether a process was stopped. */
  async stop(runnerId: string): Promise<boolean> {
    const tracked = this.running.get(runnerId);
    if (!tracked || this.status(runnerId) !== 'alive') {
      return false;
    }
    tracked.stopping = true;
    this.options.log(`stopping runner ${runnerId}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => tracked.child.kill('SIGKILL'), STOP_GRACE_MS);
      tracked.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      tracked.child.kill('SIGTERM');
    });
    return true;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.ids().map((id) => this.stop(id)));
  }

  /**
   * Runners a previous daemon started and left running (it crashed or was killed): nobody
   * watches them any more, so they are stopped. A pid is only signalled if it is still an
   * `omnigent runner` with that runner id in its environment's command line.
   */
  reapOrphans(): string[] {
    let state: StateFile;
    try {
      state = JSON.parse(readFileSync(this.stateFile, 'utf8')) as StateFile;
    } catch {
      return [];
    }
    const reaped: string[] = [];
    for (const [runnerId, { pid }] of Object.entries(state.runners ?? {})) {
      if (this.running.has(runnerId) || !isOurRunner(pid, runnerId)) {
        continue;
      }
      try {
        process.kill(pid, 'SIGKILL');
        reaped.push(runnerId);
        this.options.log(`reaped orphaned runner ${runnerId} (pid ${pid})`);
      } catch {
        // Already gone.
      }
    }
    this.save();
    return reaped;
  }

  private save(): void {
    const state: StateFile = { runners: {} };
    for (const [runnerId, tracked] of this.running) {
      if (tracked.child.pid) {
        state.runners[runnerId] = { pid: tracked.child.pid, session_id: tracked.sessionId };
      }
    }
    writeFileSync(this.stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  }
}

/** Linux: the pid runs `omnigent runner` with that runner id in its environment. */
function isOurRunner(pid: number, runnerId: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    return cmdline.includes('runner') && environ.includes(`OMNIGENT_RUNNER_ID=${runnerId}`);
  } catch {
    return false;
  }
}

function logTail(file: string): string {
  try {
    const size = statSync(file).size;
    const text = readFileSync(file, 'utf8');
    return (size > LOG_TAIL_BYTES ? text.slice(-LOG_TAIL_BYTES) : text).trim();
  } catch {
    return '';
  }
}
