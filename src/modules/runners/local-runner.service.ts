import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';

import type { AppConfig } from 'src/config/app-config';
import { packageRoot } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { RunnersRepository } from 'src/modules/runners/runners.repository';
import { runnerIdForBindingToken, sha256hex } from 'src/protocol/runner-protocol';
import { sandboxSupport } from 'src/runner/sandbox/sandbox-probe';

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
const STOP_GRACE_MS = 5_000;
/** The local runner's launch record does not expire while its token file exists. */
const LOCAL_LAUNCH_TTL_MS = 10 * 365 * 24 * 3600_000;

/**
 * The runner `omnigent serve` starts next to itself so a new user needs nothing else
 * (OMNIGENT_LOCAL_RUNNER). It is a child process speaking the normal runner protocol over
 * loopback, authenticated by a binding token kept in the data directory, so its runner id is
 * stable across restarts and sessions stay bound to it.
 *
 * Its tools run user-directed commands on this machine, so it never inherits the server's
 * secrets (only `runners.localEnv`), never shows them the data directory, and in jwt mode (where
 * users are not all the machine's owner) it runs only with a working tool sandbox.
 */
@Injectable()
export class LocalRunnerService implements OnApplicationShutdown {
  private readonly logger = new Logger('LocalRunner');
  private child?: ChildProcess;
  private stopping = false;
  private restartDelay = RESTART_MIN_MS;
  private restartTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly runners: RunnersRepository,
  ) {}

  async start(serverUrl: string): Promise<void> {
    if (!this.config.runners.local) {
      return;
    }
    if (!this.config.runners.localUser) {
      this.logger.error('OMNIGENT_LOCAL_RUNNER_USER is not set: the local runner stays off');
      return;
    }
    if (this.requiresSandbox()) {
      const support = sandboxSupport(this.config.runners.localEnv.PATH);
      if (!support.available) {
        this.logger.error(
          `The local runner stays off: in jwt mode its tools must run in a sandbox, and none ` +
            `works here (${support.reason}). Install bubblewrap, or run runners elsewhere ` +
            '(OMNIGENT_LOCAL_RUNNER=0).',
        );
        return;
      }
    }
    const token = this.bindingToken();
    const runnerId = runnerIdForBindingToken(token);
    await this.runners.saveLaunch({
      runnerId,
      tokenHash: sha256hex(token),
      ownerId: this.config.runners.localUser,
      sessionId: null,
      hostId: null,
      expiresAt: new Date(Date.now() + LOCAL_LAUNCH_TTL_MS),
    });
    this.spawn(serverUrl, token, runnerId);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null) {
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** In jwt mode the local runner's tools must be sandboxed (other users drive them). */
  private requiresSandbox(): boolean {
    return this.config.auth.mode === 'jwt';
  }

  /** The token lives in the data dir (mode 0600): the same runner id after every restart. */
  private bindingToken(): string {
    const file = join(this.config.database.dataDir, 'local-runner.token');
    if (existsSync(file)) {
      const token = readFileSync(file, 'utf8').trim();
      if (token.length >= 32) {
        return token;
      }
    }
    mkdirSync(this.config.database.dataDir, { recursive: true });
    const token = randomBytes(32).toString('hex');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    return token;
  }

  private spawn(serverUrl: string, token: string, runnerId: string): void {
    const dataDir = this.config.database.dataDir;
    const child = spawn(
      process.execPath,
      [
        join(packageRoot(), 'bin', 'omnigent.js'),
        'runner',
        '--server',
        serverUrl,
        '--workspace',
        join(dataDir, 'workspaces'),
        ...this.config.runners.localProtectedPaths.flatMap((path) => ['--protected-path', path]),
        ...(this.requiresSandbox() ? ['--require-sandbox'] : []),
      ],
      {
        // Only what a runner needs, never the server's environment (OMNIGENT_JWT_SECRET,
        // DATABASE_URL…). The binding token travels here, not in argv (visible in `ps`); the
        // sandbox keeps tools from reading it in /proc.
        env: {
          ...this.config.runners.localEnv,
          OMNIGENT_LOG_LEVEL: this.config.logLevel,
          OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN: token,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    const forward = (stream: NodeJS.ReadableStream | null) =>
      stream &&
      createInterface({ input: stream }).on('line', (line) =>
        this.logger.log(line.replace(/^\S+ \[runner\] /, '')),
      );
    forward(child.stdout);
    forward(child.stderr);
    this.logger.log(
      `Started the local runner ${runnerId} (pid ${child.pid}); OMNIGENT_LOCAL_RUNNER=0 turns it off`,
    );
    const started = Date.now();
    child.once('exit', (code, signal) => {
      if (this.stopping) {
        return;
      }
      if (Date.now() - started > 60_000) {
        this.restartDelay = RESTART_MIN_MS;
      }
      this.logger.warn(
        `The local runner exited (${signal ?? `code ${code}`}); restarting in ${this.restartDelay} ms`,
      );
      this.restartTimer = setTimeout(
        () => this.spawn(serverUrl, token, runnerId),
        this.restartDelay,
      );
      this.restartDelay = Math.min(this.restartDelay * 2, RESTART_MAX_MS);
    });
  }
}
