import { Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, newId, normalizeId } from 'src/common/ids/ids';
import { ListEnvelope, listEnvelope, ListQueryDto } from 'src/common/pagination/pagination';
import { runnerError } from 'src/modules/files/environments.service';
import { AgentsService } from 'src/modules/registry/agents.service';
import { RunnerRpcService } from 'src/modules/runners/runner-rpc.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import {
  CreateTerminalDto,
  TerminalDeletedResponseDto,
  TerminalResourceDto,
} from 'src/modules/terminals/dto/terminal.dto';
import { AgentSpecWire, AgentTerminalWire } from 'src/protocol/agent-spec';
import { EnvRequestParams } from 'src/protocol/runner-protocol';
import {
  TERMINAL_DEFAULT_COLS,
  TERMINAL_DEFAULT_ROWS,
  TerminalInfo,
  TerminalMethods,
  TerminalOpenParams,
  TerminalOpenResult,
  TerminalSnapshotResult,
} from 'src/protocol/terminal-protocol';

const RUNNER_CALL_MS = 30_000;
const DEFAULT_COMMAND = 'bash';

export function toTerminalResource(sessionId: string, info: TerminalInfo): TerminalResourceDto {
  return {
    id: info.terminal_id,
    object: 'session.resource',
    type: 'terminal',
    session_id: sessionId,
    name: `${info.terminal}:${info.session_key}`,
    metadata: {
      terminal_name: info.terminal,
      session_key: info.session_key,
      running: info.running,
      exit_code: info.exit_code,
      terminal_transport: 'pty',
      cols: info.cols,
      rows: info.rows,
      cwd: info.cwd,
      sandbox_type: info.sandbox_type,
      created_at: info.created_at,
    },
    environment: 'default',
  };
}

export function terminalNotFound(): DomainError {
  return new DomainError(ErrorCode.NotFound, 'Terminal not found');
}

/**
 * Session terminals (spec/api-reference.md §8.3; docs/RESOURCES.md "Terminals"): the runner the
 * session is bound to owns them (`terminal.*` requests); only terminals the agent spec declares
 * can be opened. Unbound session → 409; runner not connected → 503.
 */
@Injectable()
export class TerminalsService {
  constructor(
    private readonly access: SessionAccessService,
    private readonly agents: AgentsService,
    private readonly events: SessionEventsService,
    private readonly rpc: RunnerRpcService,
  ) {}

  async create(
    auth: AuthPrincipal,
    sessionId: string,
    dto: CreateTerminalDto,
  ): Promise<TerminalResourceDto> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Edit);
    const spec = await this.agentSpec(session);
    const declared = spec.terminals ?? {};
    const entry: AgentTerminalWire | undefined = Object.prototype.hasOwnProperty.call(
      declared,
      dto.terminal,
    )
      ? declared[dto.terminal]
      : undefined;
    if (!entry) {
      const names = Object.keys(declared);
      throw new DomainError(
        ErrorCode.NotFound,
        `Terminal '${dto.terminal}' is not declared by this session's agent` +
          (names.length > 0 ? ` (declared: ${names.join(', ')})` : ' (it declares none)'),
      );
    }
    const params: Omit<TerminalOpenParams, keyof EnvRequestParams> = {
      terminal_id: newId(IdPrefix.Terminal),
      terminal: dto.terminal,
      session_key: dto.session_key,
      spec: {
        command: entry.command ?? DEFAULT_COMMAND,
        args: entry.args ?? [],
        cwd: dto.cwd ?? entry.cwd ?? '',
        env: entry.env ?? {},
      },
      cols: dto.cols ?? TERMINAL_DEFAULT_COLS,
      rows: dto.rows ?? TERMINAL_DEFAULT_ROWS,
    };
    const opened = await this.call<TerminalOpenResult>(session, spec, TerminalMethods.open, params);
    const resource = toTerminalResource(session.id, opened);
    if (opened.created) {
      await this.events.locked(session.id, async (s) => {
        s.emit('session.resource.created', { resource: { ...resource } });
      });
    }
    return resource;
  }

  async list(
    auth: AuthPrincipal,
    sessionId: string,
    query: ListQueryDto,
  ): Promise<ListEnvelope<TerminalResourceDto>> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Read);
    const all = (await this.listOf(session)).map((t) => toTerminalResource(session.id, t));
    return pageInMemory(all, query);
  }

  /** Every terminal of the session (for `GET …/resources`), oldest first. */
  async inventory(auth: AuthPrincipal, sessionId: string): Promise<TerminalResourceDto[]> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Read);
    return (await this.listOf(session)).map((t) => toTerminalResource(session.id, t));
  }

  async get(
    auth: AuthPrincipal,
    sessionId: string,
    terminalId: string,
  ): Promise<TerminalResourceDto> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Read);
    const id = normalizeId(IdPrefix.Terminal, terminalId);
    const found = id ? (await this.listOf(session)).find((t) => t.terminal_id === id) : undefined;
    if (!found) {
      throw terminalNotFound();
    }
    return toTerminalResource(session.id, found);
  }

  async delete(
    auth: AuthPrincipal,
    sessionId: string,
    terminalId: string,
  ): Promise<TerminalDeletedResponseDto> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Edit);
    const id = normalizeId(IdPrefix.Terminal, terminalId);
    if (!id) {
      throw terminalNotFound();
    }
    await this.call(session, await this.agentSpec(session), TerminalMethods.close, {
      terminal_id: id,
    });
    await this.events.locked(session.id, async (s) => {
      s.emit('session.resource.deleted', { resource_id: id, resource_type: 'terminal' });
    });
    return { id, object: 'session.resource.deleted', deleted: true };
  }

  /** The scrollback of a terminal the caller was already authorised for (attach). */
  snapshot(session: SessionEntity, terminalId: string): Promise<TerminalSnapshotResult> {
    return this.call(session, null, TerminalMethods.snapshot, { terminal_id: terminalId });
  }

  private async listOf(session: SessionEntity): Promise<TerminalInfo[]> {
    return this.call<TerminalInfo[]>(session, null, TerminalMethods.list, {});
  }

  private async agentSpec(session: SessionEntity): Promise<Partial<AgentSpecWire>> {
    const agent = await this.agents.getById(session.agentId);
    return (agent?.spec ?? {}) as Partial<AgentSpecWire>;
  }

  /** One `terminal.*` request to the session's runner; its refusals become our errors. */
  private async call<T>(
    session: SessionEntity,
    spec: Partial<AgentSpecWire> | null,
    method: string,
    params: Record<string, unknown>,
  ): Promise<T> {
    if (!session.runnerId) {
      throw new DomainError(
        ErrorCode.Conflict,
        `Session ${session.id} is not bound to a runner; resume the session or bind a runner first`,
      );
    }
    const request: EnvRequestParams = {
      session_id: session.id,
      workspace: session.workspace,
      sandbox: spec?.os_env?.sandbox ?? null,
      ...params,
    };
    try {
      return await this.rpc.call<T>(session, method, request, RUNNER_CALL_MS);
    } catch (error) {
      throw runnerError(error);
    }
  }
}

/** A page of an in-memory list sorted by id (ids sort by creation time). */
function pageInMemory<T extends { id: string }>(rows: T[], query: ListQueryDto): ListEnvelope<T> {
  const { limit = 20, order = 'desc', after, before } = query;
  const sorted = [...rows].sort((a, b) =>
    order === 'asc' ? a.id.localeCompare(b.id) : b.id.localeCompare(a.id),
  );
  let start = 0;
  let end = sorted.length;
  if (after) {
    start = sorted.findIndex((r) => r.id === after) + 1;
  } else if (before) {
    const at = sorted.findIndex((r) => r.id === before);
    end = at >= 0 ? at : sorted.length;
    start = Math.max(0, end - limit);
  }
  const page = sorted.slice(start, Math.min(end, start + limit));
  const hasMore = before ? start > 0 : start + page.length < sorted.length;
  return listEnvelope(page, hasMore, (r) => r.id);
}
