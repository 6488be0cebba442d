import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IdPrefix, newId, normalizeId } from 'src/common/ids/ids';
import { HostFs } from 'src/host/host-fs';
import { RunnerProcesses } from 'src/host/runner-processes';
import {
  FsListParams,
  HarnessAvailability,
  HOST_PROTOCOL_VERSION,
  HOST_SUBPROTOCOL,
  HostHelloParams,
  HostHelloResult,
  HostMethods,
  HostTimeouts,
  RunnerLaunchParams,
  RunnerLaunchResult,
} from 'src/protocol/host-protocol';
import { RPC_INVALID_PARAMS, RPC_METHOD_NOT_FOUND, RpcError } from 'src/protocol/json-rpc';
import {
  RUNNER_RPC_ERROR,
  RunnerErrorCode,
  runnerIdForBindingToken,
} from 'src/protocol/runner-protocol';
import { RunnerChannel } from 'src/runner/runner-channel';

export interface HostDaemonOptions {
  serverUrl: string;
  token?: string;
  name: string;
  stateDir: string;
  home: string;
  /** Directories the server may browse and launch runners in (default: the home directory). */
  roots: string[];
  harnesses: HarnessAvailability;
  runnerCommand: { execPath: string; script: string };
  runnerEnv: Record<string, string>;
  protectedPaths: string[];
  version: string;
  log(message: string): void;
  onRegistered(hostId: string): void;
  onFatal(reason: string): void;
}

/** The host id kept in the state directory: the same machine is the same host after a restart. */
export function loadHostId(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, 'host.json');
  if (existsSync(file)) {
    const saved = normalizeId(
      IdPrefix.Host,
      (JSON.parse(readFileSync(file, 'utf8')) as { host_id?: string }).host_id,
    );
    if (saved) {
      return saved;
    }
  }
  const hostId = newId(IdPrefix.Host);
  writeFileSync(file, `${JSON.stringify({ host_id: hostId }, null, 2)}\n`, { mode: 0o600 });
  return hostId;
}

function launchError(code: RunnerErrorCode, message: string): RpcError {
  return new RpcError(RUNNER_RPC_ERROR[code], message, { code });
}

/**
 * `omnigent host` (spec/runner-protocol.md §5 "Host ↔ server", §12.6): one channel to the server,
 * `host.hello` with the harnesses this machine can run, then it answers the server's calls —
 * launch/stop/status of runner processes and filesystem stat/list/mkdir/worktrees — and reports
 * every runner exit. Reconnects with backoff like a runner.
 */
export class HostDaemon {
  readonly hostId: string;
  private readonly channel: RunnerChannel;
  private readonly fs: HostFs;
  private readonly runners: RunnerProcesses;
  private registered = false;

  constructor(private readonly options: HostDaemonOptions) {
    this.hostId = loadHostId(options.stateDir);
    this.fs = new HostFs(options.home, options.roots, options.runnerEnv.PATH ?? '/usr/bin:/bin');
    this.runners = new RunnerProcesses({
      stateDir: options.stateDir,
      serverUrl: options.serverUrl,
      command: options.runnerCommand,
      env: options.runnerEnv,
      protectedPaths: options.protectedPaths,
      log: options.log,
      onExit: (runnerId, exitCode, signal, error, stopped) => {
        this.channel.notify(HostMethods.runnerExited, {
          runner_id: runnerId,
          exit_code: exitCode,
          signal,
          error,
          stopped,
        });
      },
    });
    const url = new URL(options.serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/hosts/${this.hostId}/channel`;
    const headers: Record<string, string> = { Origin: 'omnigent://internal' };
    if (options.token) {
      headers.Authorization = `Bearer ${options.token}`;
    }
    this.channel = new RunnerChannel({
      url: url.toString(),
      subprotocol: HOST_SUBPROTOCOL,
      headers,
      heartbeatMs: 15_000,
      log: options.log,
      onOpen: (channel) => this.handshake(channel),
      onRequest: (method, params) => this.onRequest(method, params),
      onNotification: () => undefined,
      onDown: () => options.log('lost the connection to the server; runners keep running'),
      onFatal: (reason) => {
        options.log(`giving up: ${reason}`);
        options.onFatal(reason);
      },
    });
  }

  start(): void {
    this.runners.reapOrphans();
    this.channel.start();
  }

  /** Stops the channel and every runner this daemon started. */
  async stop(): Promise<void> {
    this.channel.stop();
    await this.runners.stopAll();
  }

  private async handshake(channel: RunnerChannel): Promise<void> {
    const params: HostHelloParams = {
      protocol: HOST_PROTOCOL_VERSION,
      version: this.options.version,
      name: this.options.name,
      runners: this.runners.ids(),
      capabilities: { harnesses: this.options.harnesses },
    };
    const result = await channel.helloRequest<HostHelloResult>(
      HostMethods.hello,
      params,
      HostTimeouts.helloMs,
    );
    channel.setHeartbeat(result.heartbeat_s * 1000);
    channel.markReady();
    if (!this.registered) {
      this.registered = true;
      this.options.onRegistered(this.hostId);
    } else {
      this.options.log('reconnected');
    }
    for (const runnerId of result.stop_runners ?? []) {
      this.options.log(`the server no longer knows runner ${runnerId}; stopping it`);
      void this.runners.stop(runnerId);
    }
  }

  private async onRequest(method: string, params: unknown): Promise<unknown> {
    const p = (params ?? {}) as Record<string, unknown>;
    switch (method) {
      case HostMethods.runnerLaunch:
        return this.launch(p as unknown as RunnerLaunchParams);
      case HostMethods.runnerStop:
        return { stopped: await this.runners.stop(String(p.runner_id)) };
      case HostMethods.runnerStatus:
        return { status: this.runners.status(String(p.runner_id)) };
      case HostMethods.fsStat:
        return this.fs.stat(String(p.path));
      case HostMethods.fsList:
        return this.fs.list(p as unknown as FsListParams);
      case HostMethods.fsMkdir:
        return this.fs.mkdir(String(p.path));
      case HostMethods.worktreeList:
        return this.fs.worktrees(String(p.path));
      default:
        throw new RpcError(RPC_METHOD_NOT_FOUND, `Unknown method ${method}`);
    }
  }

  private async launch(params: RunnerLaunchParams): Promise<RunnerLaunchResult> {
    const token = params.binding_token;
    if (typeof token !== 'string' || token.length < 32 || typeof params.session_id !== 'string') {
      throw new RpcError(RPC_INVALID_PARAMS, 'binding_token and session_id are required');
    }
    const harness = params.harness ?? 'echo';
    const availability = this.options.harnesses[harness];
    if (availability !== true) {
      throw launchError(
        RunnerErrorCode.HarnessNotConfigured,
        `harness '${harness}' is not configured on host ${this.options.name}` +
          (typeof availability === 'string' ? `: ${availability}` : ''),
      );
    }
    let workspace: string;
    try {
      workspace = await this.fs.resolvePath(String(params.workspace));
    } catch (error) {
      throw error instanceof RpcError
        ? error
        : launchError(RunnerErrorCode.SpawnFailed, String(error));
    }
    if (!isDirectory(workspace)) {
      throw launchError(
        RunnerErrorCode.WorkspaceMissing,
        `workspace ${params.workspace} does not exist on host ${this.options.name}`,
      );
    }
    this.options.log(`launching a runner for session ${params.session_id} in ${workspace}`);
    try {
      const runnerId = await this.runners.launch(token, params.session_id, workspace);
      return { runner_id: runnerId };
    } catch (error) {
      throw launchError(
        RunnerErrorCode.SpawnFailed,
        `could not start ${runnerIdForBindingToken(token)}: ${(error as Error).message}`,
      );
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A random host name suffix when the machine has none. */
export function fallbackName(): string {
  return `host-${randomBytes(3).toString('hex')}`;
}
