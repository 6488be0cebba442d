import { Inject, Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, normalizeId } from 'src/common/ids/ids';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import {
  CreateDirectoryDto,
  HostFilesystemQueryDto,
  WorktreesQueryDto,
} from 'src/modules/hosts/dto/host-request.dto';
import {
  DirectoryCreatedResponseDto,
  HostDetailResponseDto,
  HostFsListResponseDto,
  HostListResponseDto,
  toHostResponse,
  WorktreeListResponseDto,
} from 'src/modules/hosts/dto/host-response.dto';
import { HostGatewayService } from 'src/modules/hosts/host-gateway.service';
import { HostRouterService } from 'src/modules/hosts/host-router.service';
import { HostEntity } from 'src/modules/hosts/host.entity';
import { HostsRepository } from 'src/modules/hosts/hosts.repository';
import {
  FsListParams,
  FsListResult,
  FsStatResult,
  HostErrorCode,
  HostMethods,
  RunnerLaunchParams,
  RunnerLaunchResult,
  WorktreeEntry,
} from 'src/protocol/host-protocol';
import { RPC_DISCONNECTED, RPC_TIMEOUT, RpcError } from 'src/protocol/json-rpc';
import { RunnerErrorCode } from 'src/protocol/runner-protocol';

/** How a host-reported error code maps to our wire error for one kind of call. */
type ErrorMap = Partial<Record<string, ErrorCode>>;

const FS_ERRORS: ErrorMap = {
  [HostErrorCode.NotFound]: ErrorCode.NotFound,
  [HostErrorCode.PathUnreachable]: ErrorCode.Forbidden,
  [HostErrorCode.PermissionDenied]: ErrorCode.Forbidden,
  [HostErrorCode.InvalidPath]: ErrorCode.InvalidInput,
};

const MKDIR_ERRORS: ErrorMap = {
  [HostErrorCode.AlreadyExists]: ErrorCode.Conflict,
  [HostErrorCode.PermissionDenied]: ErrorCode.Conflict,
  [HostErrorCode.NotFound]: ErrorCode.Conflict,
  [HostErrorCode.PathUnreachable]: ErrorCode.Forbidden,
  [HostErrorCode.InvalidPath]: ErrorCode.InvalidInput,
};

const WORKTREE_ERRORS: ErrorMap = {
  [HostErrorCode.NotAGitRepo]: ErrorCode.InvalidInput,
  [HostErrorCode.NotFound]: ErrorCode.InvalidInput,
  [HostErrorCode.PathUnreachable]: ErrorCode.Forbidden,
  [HostErrorCode.InvalidPath]: ErrorCode.InvalidInput,
};

const LAUNCH_ERRORS: ErrorMap = {
  [RunnerErrorCode.HarnessNotConfigured]: ErrorCode.HarnessNotConfigured,
  [RunnerErrorCode.WorkspaceMissing]: ErrorCode.WorkspaceMissing,
  [HostErrorCode.PathUnreachable]: ErrorCode.InvalidInput,
};

/**
 * Hosts (spec/api-reference.md §6): the caller's own hosts only (another user's host is 404),
 * liveness from the directory row, and calls to the daemon with the error table of
 * spec/runner-protocol.md §11: offline 409, no answer in time 504, connection lost or
 * host-side failure 502.
 */
@Injectable()
export class HostsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly gateway: HostGatewayService,
    private readonly hosts: HostsRepository,
    private readonly router: HostRouterService,
  ) {}

  isOnlineRow(row: HostEntity | null): boolean {
    return Boolean(
      row?.connected &&
      row.lastSeenAt &&
      Date.now() - row.lastSeenAt.getTime() < this.config.runners.livenessTtlMs,
    );
  }

  async list(auth: AuthPrincipal): Promise<HostListResponseDto> {
    const rows = await this.hosts.listByOwner(auth.userId);
    return { hosts: rows.map((row) => toHostResponse(row, this.isOnlineRow(row))) };
  }

  async get(auth: AuthPrincipal, hostId: string): Promise<HostDetailResponseDto> {
    const host = await this.findOrFail(auth.userId, hostId);
    return { ...toHostResponse(host, this.isOnlineRow(host)), runners: [] };
  }

  async listDirectory(
    auth: AuthPrincipal,
    hostId: string,
    rawPath: string | undefined,
    query: HostFilesystemQueryDto,
  ): Promise<HostFsListResponseDto> {
    const host = await this.findOrFail(auth.userId, hostId);
    const path = rawPath === undefined ? '~' : checkHostPath(rawPath);
    const params: FsListParams = {
      path,
      limit: query.limit ?? 20,
      ...(query.after ? { after: query.after } : {}),
      ...(query.before ? { before: query.before } : {}),
    };
    const result = await this.call<FsListResult>(
      host,
      HostMethods.fsList,
      params,
      FS_ERRORS,
      'list_dir',
    );
    return { object: 'list', data: result.entries, has_more: result.has_more };
  }

  async createDirectory(
    auth: AuthPrincipal,
    hostId: string,
    dto: CreateDirectoryDto,
  ): Promise<DirectoryCreatedResponseDto> {
    const host = await this.findOrFail(auth.userId, hostId);
    const result = await this.call<{ path: string }>(
      host,
      HostMethods.fsMkdir,
      { path: checkHostPath(dto.path) },
      MKDIR_ERRORS,
      'mkdir',
    );
    return { object: 'directory', path: result.path };
  }

  async worktrees(
    auth: AuthPrincipal,
    hostId: string,
    query: WorktreesQueryDto,
  ): Promise<WorktreeListResponseDto> {
    const host = await this.findOrFail(auth.userId, hostId);
    const result = await this.call<{ worktrees: WorktreeEntry[] }>(
      host,
      HostMethods.worktreeList,
      { path: checkHostPath(query.path) },
      WORKTREE_ERRORS,
      'worktree list',
    );
    return { object: 'list', data: result.worktrees };
  }

  /** The caller's host (404 when missing, malformed or someone else's). */
  async findOrFail(ownerId: string, rawHostId: string): Promise<HostEntity> {
    const hostId = normalizeId(IdPrefix.Host, rawHostId);
    const host = hostId ? await this.hosts.getById(hostId) : null;
    if (!host || host.ownerId !== ownerId) {
      throw new DomainError(ErrorCode.NotFound, 'host not found');
    }
    return host;
  }

  /** Which of these hosts hold a live channel (for `host_online`). */
  async onlineAmong(hostIds: string[]): Promise<Set<string>> {
    return new Set(
      [...(await this.livenessOf(hostIds))].filter(([, l]) => l.online).map(([id]) => id),
    );
  }

  /** Liveness and reported daemon version of these hosts (for `/health`). */
  async livenessOf(
    hostIds: string[],
  ): Promise<Map<string, { online: boolean; version: string | null }>> {
    const rows = await this.hosts.getMany([...new Set(hostIds)]);
    return new Map(
      rows.map((r) => [r.hostId, { online: this.isOnlineRow(r), version: r.version || null }]),
    );
  }

  /** Canonical form of a workspace on the host, or null when it does not exist there. */
  async stat(host: HostEntity, path: string): Promise<FsStatResult> {
    return this.call<FsStatResult>(host, HostMethods.fsStat, { path }, FS_ERRORS, 'stat');
  }

  /** Asks the host to start a runner (binding token in its environment, never argv). */
  async launchRunner(host: HostEntity, params: RunnerLaunchParams): Promise<RunnerLaunchResult> {
    return this.call<RunnerLaunchResult>(
      host,
      HostMethods.runnerLaunch,
      params,
      LAUNCH_ERRORS,
      'launch runner',
      this.config.hosts.launchTimeoutMs,
    );
  }

  /** Best effort: the host stops the runner if it still runs. */
  async stopRunner(host: HostEntity, runnerId: string): Promise<boolean> {
    try {
      const result = await this.call<{ stopped: boolean }>(
        host,
        HostMethods.runnerStop,
        { runner_id: runnerId },
        {},
        'stop runner',
      );
      return result.stopped;
    } catch {
      return false;
    }
  }

  /** What the host knows of one of its runner processes; `unknown` when it cannot say. */
  async runnerStatus(host: HostEntity, runnerId: string): Promise<'alive' | 'dead' | 'unknown'> {
    try {
      const result = await this.call<{ status: 'alive' | 'dead' | 'unknown' }>(
        host,
        HostMethods.runnerStatus,
        { runner_id: runnerId },
        {},
        'runner status',
      );
      return result.status;
    } catch {
      return 'unknown';
    }
  }

  private async call<T>(
    host: HostEntity,
    method: string,
    params: unknown,
    errors: ErrorMap,
    what: string,
    timeoutMs = this.config.hosts.rpcTimeoutMs,
  ): Promise<T> {
    const connection = this.gateway.local(host.hostId);
    try {
      // Held here, or by another replica: then over the bus (409 when the host is gone).
      return connection?.ownerId === host.ownerId
        ? await connection.request<T>(method, params, timeoutMs)
        : await this.router.call<T>(host.hostId, host.ownerId, method, params, timeoutMs);
    } catch (error) {
      if (!(error instanceof RpcError)) {
        throw error;
      }
      if (error.code === RPC_TIMEOUT) {
        throw new DomainError(
          ErrorCode.Timeout,
          `host '${host.hostId}' did not answer ${what} within ${Math.round(timeoutMs / 100) / 10}s`,
        );
      }
      if (error.code === RPC_DISCONNECTED) {
        throw new DomainError(ErrorCode.BadGateway, `host '${host.hostId}' connection lost`);
      }
      const mapped = error.dataCode ? errors[error.dataCode] : undefined;
      if (mapped) {
        throw new DomainError(mapped, error.message);
      }
      throw new DomainError(ErrorCode.BadGateway, `host ${what} failed: ${error.message}`);
    }
  }
}

/** A host path from a client: not empty, no NUL, absolute or `~`-prefixed (400 otherwise). */
export function checkHostPath(path: string): string {
  if (path.length === 0) {
    throw new DomainError(ErrorCode.InvalidInput, 'path must not be empty');
  }
  if (path.includes('\0')) {
    throw new DomainError(ErrorCode.InvalidInput, 'path must not contain NUL bytes');
  }
  if (!(path.startsWith('/') || path === '~' || path.startsWith('~/'))) {
    throw new DomainError(ErrorCode.InvalidInput, 'path must be absolute or tilde-prefixed');
  }
  return path;
}
