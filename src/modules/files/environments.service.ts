import { Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { pageInMemory } from 'src/common/pagination/page-in-memory.util';
import { ListEnvelope, listEnvelope } from 'src/common/pagination/pagination';
import { EnvEntry, Methods } from 'src/protocol/runner-protocol';
import { StreamEvent } from 'src/protocol/stream-events';
import {
  EditFileDto,
  EnvListQueryDto,
  SearchQueryDto,
  ShellDto,
  WriteFileDto,
} from 'src/modules/files/dto/environment-request.dto';
import { SessionRunnerService } from 'src/modules/runners/session-runner.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';

export const PRIMARY_ENVIRONMENT = 'default';
/** A shell call may run for its own timeout (at most 600 s) plus this. */
const SHELL_SLACK_MS = 5_000;

export type EnvironmentResource = {
  id: string;
  object: 'session.resource';
  type: 'environment';
  session_id: string;
  name: string;
  metadata: Record<string, unknown>;
};

/**
 * The session's environment (spec/api-reference.md §8.4), served by its runner over `env.*`
 * requests (docs/RESOURCES.md): the runner resolves every path inside the session workspace with
 * the agent tools' rules and sandbox. Unbound session → 409; runner not connected → 503.
 */
@Injectable()
export class EnvironmentsService {
  constructor(
    private readonly access: SessionAccessService,
    private readonly events: SessionEventsService,
    private readonly runner: SessionRunnerService,
  ) {}

  async list(auth: AuthPrincipal, sessionId: string): Promise<ListEnvelope<EnvironmentResource>> {
    const env = await this.get(auth, sessionId, PRIMARY_ENVIRONMENT, false);
    return listEnvelope([env], false, (e) => e.id);
  }

  async get(
    auth: AuthPrincipal,
    sessionId: string,
    envId: string,
    detailed = true,
  ): Promise<EnvironmentResource> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Read);
    requirePrimary(envId);
    const described = await this.call<Record<string, unknown>>(session, Methods.envDescribe, {});
    const { root, home, reachable, sandbox_type, sandbox_active } = described;
    return {
      id: PRIMARY_ENVIRONMENT,
      object: 'session.resource',
      type: 'environment',
      session_id: session.id,
      name: 'Primary environment',
      metadata: {
        environment_type: 'caller_process',
        role: 'primary',
        sandbox_type,
        sandbox_active,
        ...(detailed ? { root, home, reachable } : {}),
      },
    };
  }

  async browse(
    auth: AuthPrincipal,
    sessionId: string,
    envId: string,
    path: string,
    query: EnvListQueryDto,
  ): Promise<Record<string, unknown>> {
    const session = await this.readable(auth, sessionId, envId, query.base);
    const listing = await this.call<{ base: string; entries: EnvEntry[] | null }>(
      session,
      Methods.envList,
      { path },
    );
    if (!listing.entries) {
      return this.call(session, Methods.envRead, { path });
    }
    return { ...pageInMemory(listing.entries, query), base: listing.base };
  }

  async write(
    auth: AuthPrincipal,
    sessionId: string,
    envId: string,
    path: string,
    dto: WriteFileDto,
  ): Promise<Record<string, unknown>> {
    const session = await this.writable(auth, sessionId, envId);
    const result = await this.call<Record<string, unknown>>(session, Methods.envWrite, {
      path,
      content: dto.content,
      encoding: dto.encoding ?? 'utf-8',
      create_parents: dto.create_parents ?? true,
    });
    this.invalidated(session.id);
    return result;
  }

  async edit(
    auth: AuthPrincipal,
    sessionId: string,
    envId: string,
    path: string,
    dto: EditFileDto,
  ): Promise<Record<string, unknown>> {
    const session = await this.writable(auth, sessionId, envId);
    const result = await this.call<Record<string, unknown>>(session, Methods.envEdit, {
      path,
      old_text: dto.old_text,
      new_text: dto.new_text,
      replace_all: dto.replace_all ?? false,
    });
    this.invalidated(session.id);
    return result;
  }

  async delete(
    auth: AuthPrincipal,
    sessionId: string,
    envId: string,
    path: string,
  ): Promise<Record<string, unknown>> {
    const session = await this.writable(auth, sessionId, envId);
    const result = await this.call<Record<string, unknown>>(session, Methods.envDelete, { path });
    this.invalidated(session.id);
    return result;
  }

  async search(
    auth: AuthPrincipal,
    sessionId: string,
    envId: string,
    path: string,
    query: SearchQueryDto,
  ): Promise<Record<string, unknown>> {
    const session = await this.readable(auth, sessionId, envId, query.base);
    if (!query.q || query.q.trim() === '') {
      throw new DomainError(ErrorCode.InvalidInput, 'q must have at least one non-space character');
    }
    const globs = (value?: string) =>
      (value ?? '')
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean);
    const found = await this.call<{
      base: string;
      entries: EnvEntry[];
      hasMore: boolean;
      truncated: boolean;
    }>(session, Methods.envSearch, {
      path,
      q: query.q,
      include: globs(query.include),
      exclude: globs(query.exclude),
      limit: query.limit ?? 500,
    });
    return {
      object: 'list',
      base: found.base,
      data: found.entries,
      has_more: found.hasMore,
      truncated: found.truncated,
    };
  }

  async changes(
    auth: AuthPrincipal,
    sessionId: string,
    envId: string,
  ): Promise<Record<string, unknown>> {
    const session = await this.readable(auth, sessionId, envId);
    const data = await this.call<Record<string, unknown>[]>(session, Methods.envChanges, {});
    return { object: 'list', data, has_more: false };
  }

  async shell(
    auth: AuthPrincipal,
    sessionId: string,
    envId: string,
    dto: ShellDto,
  ): Promise<Record<string, unknown>> {
    const session = await this.writable(auth, sessionId, envId);
    const timeoutS = dto.timeout ?? 30;
    return this.call(
      session,
      Methods.envShell,
      { command: dto.command, timeout: timeoutS },
      timeoutS * 1000 + SHELL_SLACK_MS,
    );
  }

  private async readable(
    auth: AuthPrincipal,
    sessionId: string,
    envId: string,
    base?: string,
  ): Promise<SessionEntity> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Read);
    requirePrimary(envId);
    if (base !== undefined && base !== 'workspace') {
      throw new DomainError(
        ErrorCode.Forbidden,
        'path_unreachable: only the session workspace is reachable through this API',
        { reachable_roots: ['workspace'] },
      );
    }
    return session;
  }

  private async writable(
    auth: AuthPrincipal,
    sessionId: string,
    envId: string,
  ): Promise<SessionEntity> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Edit);
    requirePrimary(envId);
    return session;
  }

  private invalidated(sessionId: string): void {
    this.events.publishTransient(sessionId, {
      type: 'session.changed_files.invalidated',
      session_id: sessionId,
      environment_id: PRIMARY_ENVIRONMENT,
    } as StreamEvent);
  }

  /** One `env.*` request to the session's runner, with the agent's sandbox. */
  private call<T>(
    session: SessionEntity,
    method: string,
    params: Record<string, unknown>,
    timeoutMs?: number,
  ): Promise<T> {
    return this.runner.call<T>(session, method, params, { timeoutMs });
  }
}

function requirePrimary(envId: string): void {
  if (envId !== PRIMARY_ENVIRONMENT) {
    throw new DomainError(ErrorCode.NotFound, 'Resource not found');
  }
}
