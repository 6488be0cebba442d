import { Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, newId, normalizeId } from 'src/common/ids/ids';
import { pageInMemory } from 'src/common/pagination/page-in-memory.util';
import { ListEnvelope, ListQueryDto } from 'src/common/pagination/pagination';
import { SessionRunnerService } from 'src/modules/runners/session-runner.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import {
  CreateTerminalDto,
  TerminalDeletedResponseDto,
  TerminalResourceDto,
  toTerminalResource,
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

const DEFAULT_COMMAND = 'bash';

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
    private readonly events: SessionEventsService,
    private readonly runner: SessionRunnerService,
  ) {}

  async create(
    auth: AuthPrincipal,
    sessionId: string,
    dto: CreateTerminalDto,
  ): Promise<TerminalResourceDto> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Edit);
    const spec = await this.runner.agentSpec(session);
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
    await this.call(session, await this.runner.agentSpec(session), TerminalMethods.close, {
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

  /** One `terminal.*` request to the session's runner; a null spec sends no sandbox. */
  private call<T>(
    session: SessionEntity,
    spec: Partial<AgentSpecWire> | null,
    method: string,
    params: Record<string, unknown>,
  ): Promise<T> {
    return this.runner.call<T>(session, method, params, { spec });
  }
}
