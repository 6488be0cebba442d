import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated } from 'src/common/auth/auth.decorators';
import { ApiErrors, ApiErrorSpec } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { BodyExample } from 'src/common/openapi/body-example.decorator';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { ListEnvelope } from 'src/common/pagination/pagination';
import { SessionIdPipe } from 'src/common/validation/id-param.pipe';
import { JsonOnlyInterceptor } from 'src/modules/files/json-only.interceptor';
import {
  CreateTerminalDto,
  ListTerminalsQueryDto,
  TerminalDeletedResponseDto,
  TerminalListResponseDto,
  TerminalResourceDto,
} from 'src/modules/terminals/dto/terminal.dto';
import {
  CREATE_TERMINAL_EXAMPLE,
  TERMINAL_DELETED_EXAMPLE,
  TERMINAL_EXAMPLE,
  TERMINAL_LIST_EXAMPLE,
} from 'src/modules/terminals/dto/terminal-examples.constants';
import { TerminalAttachGateway } from 'src/modules/terminals/terminal-attach.gateway';
import { TerminalsService } from 'src/modules/terminals/terminals.service';

/** What every terminal route can answer: each is a call to the session's runner. */
const RUNNER_ERRORS: ApiErrorSpec[] = [
  [404, "No such session (or another user's), or no such terminal."],
  [409, 'The session is not bound to a runner.'],
  502,
  503,
  504,
];

/**
 * Session terminals (spec/api-reference.md §8.3). Registered before EnvironmentsController (see
 * files.module.ts) so `resources/terminals…` wins over `resources/:resource_id`.
 */
@ApiTags(ApiTag.Resources)
@Controller('v1/sessions/:session_id/resources')
export class TerminalsController {
  constructor(
    private readonly terminals: TerminalsService,
    private readonly attach: TerminalAttachGateway,
  ) {}

  @Get('terminals')
  @Authenticated()
  @Endpoint({
    summary: 'List terminals',
    description: "The session's terminals on its runner, newest first.",
  })
  @ApiOkResponse({ type: TerminalListResponseDto, example: TERMINAL_LIST_EXAMPLE })
  @ApiErrors(...RUNNER_ERRORS, 422)
  list(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Query() query: ListTerminalsQueryDto,
  ): Promise<ListEnvelope<TerminalResourceDto>> {
    return this.terminals.list(auth, sessionId, query);
  }

  @Post('terminals')
  @HttpCode(200)
  @UseInterceptors(JsonOnlyInterceptor)
  @Authenticated()
  @Endpoint({
    summary: 'Open a terminal',
    description:
      "Starts a terminal the agent spec declares (`terminals:`) in a PTY on the session's " +
      'runner, in the workspace and the sandbox of the agent tools. Idempotent: the same ' +
      '(terminal, session_key) returns the running terminal. JSON only (415). Interactive I/O: ' +
      'WebSocket `GET …/resources/terminals/{terminal_id}/attach` (the owner; `?read_only=true` ' +
      'with read access) — server → client binary frames are terminal output (the scrollback ' +
      'first), client → server binary frames are input, text frames are JSON control messages ' +
      '`{"type":"resize","cols":N,"rows":M}`. A refused upgrade is a plain HTTP 401/403/404/409/503.',
  })
  @BodyExample(CreateTerminalDto, CREATE_TERMINAL_EXAMPLE)
  @ApiOkResponse({ type: TerminalResourceDto, example: TERMINAL_EXAMPLE })
  @ApiErrors(
    [404, "No such session (or another user's), or a terminal the agent does not declare."],
    [409, 'The session is not bound to a runner.'],
    413,
    415,
    422,
    502,
    503,
    504,
  )
  create(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Body() dto: CreateTerminalDto,
  ): Promise<TerminalResourceDto> {
    return this.terminals.create(auth, sessionId, dto);
  }

  @Get('terminals/:terminal_id')
  @Authenticated()
  @Endpoint({ summary: 'Get a terminal', description: 'One terminal.' })
  @ApiOkResponse({ type: TerminalResourceDto, example: TERMINAL_EXAMPLE })
  @ApiErrors(...RUNNER_ERRORS)
  get(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('terminal_id') terminalId: string,
  ): Promise<TerminalResourceDto> {
    return this.terminals.get(auth, sessionId, terminalId);
  }

  @Delete('terminals/:terminal_id')
  @Authenticated()
  @Endpoint({
    summary: 'Close a terminal',
    description: 'Ends its process group (SIGHUP, then SIGKILL) and closes its viewers.',
  })
  @ApiOkResponse({ type: TerminalDeletedResponseDto, example: TERMINAL_DELETED_EXAMPLE })
  @ApiErrors(...RUNNER_ERRORS)
  async delete(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('terminal_id') terminalId: string,
  ): Promise<TerminalDeletedResponseDto> {
    const deleted = await this.terminals.delete(auth, sessionId, terminalId);
    this.attach.terminalDeleted(deleted.id);
    return deleted;
  }
}
