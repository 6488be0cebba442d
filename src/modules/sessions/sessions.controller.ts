import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated } from 'src/common/auth/auth.decorators';
import { JsonText } from 'src/common/http/json-text.decorator';
import { Idempotent } from 'src/common/idempotency/idempotent.decorator';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { BodyExample } from 'src/common/openapi/body-example.decorator';
import { Endpoint, SseResponse } from 'src/common/openapi/endpoint.decorator';
import { ListEnvelope } from 'src/common/pagination/pagination';
import { writeSse } from 'src/common/sse/sse-writer';
import { SessionIdPipe } from 'src/common/validation/id-param.pipe';
import { sseMaxPendingFromEnv } from 'src/config/app-config';
import { SESSION_AGENT_EXAMPLE } from 'src/modules/registry/dto/agent-examples.constants';
import { SessionAgentResponseDto } from 'src/modules/registry/dto/agent-response.dto';
import { BundleUploadInterceptor } from 'src/modules/sessions/dto/bundle-upload.interceptor';
import { CreateSessionBody } from 'src/modules/sessions/dto/create-session-body.decorator';
import {
  CreateSessionDto,
  DeleteSessionQueryDto,
  ForkSessionDto,
  GetSessionQueryDto,
  ListChildSessionsQueryDto,
  ListItemsQueryDto,
  ListSessionsQueryDto,
  SessionEventInputDto,
  StreamQueryDto,
  UpdateSessionDto,
} from 'src/modules/sessions/dto/session-request.dto';
import {
  CHILD_SESSION_LIST_EXAMPLE,
  CREATE_SESSION_EXAMPLE,
  EVENT_ACK_EXAMPLE,
  FORK_SESSION_EXAMPLE,
  ITEM_LIST_EXAMPLE,
  POST_MESSAGE_EXAMPLE,
  SESSION_DELETED_EXAMPLE,
  SESSION_EXAMPLE,
  SESSION_LIST_EXAMPLE,
  UPDATE_SESSION_EXAMPLE,
} from 'src/modules/sessions/dto/session-examples.constants';
import {
  ChildSessionListResponseDto,
  ChildSessionSummaryDto,
  CreatedSessionResponseDto,
  EventAckResponseDto,
  ItemListResponseDto,
  SessionDeletedResponseDto,
  SessionListResponseDto,
  SessionResponseDto,
} from 'src/modules/sessions/dto/session-response.dto';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { SessionsService } from 'src/modules/sessions/sessions.service';
import { sendJsonReply } from 'src/modules/sessions/json-reply.util';
import { SessionForkService } from 'src/modules/sessions/session-fork.service';
import { SessionReadsService } from 'src/modules/sessions/session-reads.service';

/** Unsent bytes a stream may hold for a client that does not read (OMNIGENT_SSE_MAX_PENDING). */
const SSE_MAX_PENDING = sseMaxPendingFromEnv();

@ApiTags(ApiTag.Sessions)
@Controller('v1/sessions')
export class SessionsController {
  constructor(
    private readonly turns: TurnsService,
    private readonly events: SessionEventsService,
    private readonly sessions: SessionsService,
    private readonly reads: SessionReadsService,
    private readonly forks: SessionForkService,
  ) {}

  @Post()
  @Authenticated()
  @ApiConsumes('application/json', 'multipart/form-data')
  @BodyExample(
    CreateSessionDto,
    CREATE_SESSION_EXAMPLE,
    'JSON, or multipart with `metadata` (JSON text) and `bundle` (.tar.gz).',
  )
  @Endpoint({
    summary: 'Create a session',
    description:
      'JSON binds an existing agent (answers the session); multipart uploads an agent bundle ' +
      "(answers {session_id, agent_id, agent_name}). A new session is bound to the caller's runner " +
      'when they have exactly one connected.',
  })
  @ApiCreatedResponse({ type: SessionResponseDto, example: SESSION_EXAMPLE })
  @ApiErrors(400, 404, 413, 415, 422)
  @Idempotent()
  @UseInterceptors(BundleUploadInterceptor)
  createSession(
    @Auth() auth: AuthPrincipal,
    @CreateSessionBody() body: CreateSessionBody,
  ): Promise<SessionResponseDto | CreatedSessionResponseDto> {
    return this.sessions.create(auth, body);
  }

  @Get()
  @Authenticated()
  @Endpoint({
    summary: 'List sessions',
    description:
      "The caller's sessions, newest first. Cursor pagination (limit/after/before/order), sort_by, " +
      'agent_id/agent_name filters, search_query over titles and message text, include_archived, kind.',
  })
  @ApiOkResponse({ type: SessionListResponseDto, example: SESSION_LIST_EXAMPLE })
  @ApiErrors(422)
  @JsonText()
  list(
    @Auth() auth: AuthPrincipal,
    @Query() query: ListSessionsQueryDto,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string | undefined> {
    return this.reads.list(auth, query, ifNoneMatch).then((reply) => sendJsonReply(res, reply));
  }

  @Get(':session_id')
  @Authenticated()
  // Revalidate every time (ETag + If-None-Match → 304), never shared by a proxy.
  @Header('Cache-Control', 'private, no-cache')
  @JsonText()
  @Endpoint({
    summary: 'Get a session',
    description:
      'The snapshot: every field, with its items (nested shape). Strong `ETag`; ' +
      '`If-None-Match` naming it answers 304 without a body.',
  })
  @ApiOkResponse({ type: SessionResponseDto, example: SESSION_EXAMPLE })
  @ApiErrors(404, 422)
  get(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Query() query: GetSessionQueryDto,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string | undefined> {
    return this.reads
      .snapshot(auth, id, query, ifNoneMatch)
      .then((reply) => sendJsonReply(res, reply));
  }

  @Patch(':session_id')
  @Authenticated()
  @Endpoint({
    summary: 'Update a session',
    description:
      'Title, labels (merged), archived, model_override, reasoning_effort, runner_id ("" unbinds), …',
  })
  @BodyExample(UpdateSessionDto, UPDATE_SESSION_EXAMPLE)
  @ApiOkResponse({ type: SessionResponseDto, example: SESSION_EXAMPLE })
  @ApiErrors(400, 403, 404, 422)
  update(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Body() dto: UpdateSessionDto,
  ): Promise<SessionResponseDto> {
    return this.sessions.update(auth, id, dto);
  }

  @Delete(':session_id')
  @Authenticated()
  @Endpoint({
    summary: 'Delete a session',
    description: 'Owner only. Removes its items, sub-agent sessions and uploaded agent.',
  })
  @ApiOkResponse({ type: SessionDeletedResponseDto, example: SESSION_DELETED_EXAMPLE })
  @ApiErrors(403, 404, 422)
  delete(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Query() query: DeleteSessionQueryDto,
  ): Promise<SessionDeletedResponseDto> {
    return this.sessions.delete(auth, id, query);
  }

  @Post(':session_id/fork')
  @Authenticated()
  @Endpoint({
    summary: 'Fork a session',
    description:
      'Copies the history (optionally up to a response) into a new idle session owned by the caller.',
  })
  @BodyExample(ForkSessionDto, FORK_SESSION_EXAMPLE)
  @ApiCreatedResponse({ type: SessionResponseDto, example: SESSION_EXAMPLE })
  @ApiErrors(400, 404, 422)
  fork(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Body() dto: ForkSessionDto,
  ): Promise<SessionResponseDto> {
    return this.forks.fork(auth, id, dto);
  }

  @Get(':session_id/items')
  @Authenticated()
  @JsonText()
  @Endpoint({
    summary: 'List items',
    description:
      'Flattened conversation items, oldest first (limit 100 by default). Strong `ETag`; ' +
      '`If-None-Match` naming it answers 304 without a body.',
  })
  @ApiOkResponse({ type: ItemListResponseDto, example: ITEM_LIST_EXAMPLE })
  @ApiErrors(404, 422)
  items(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Query() query: ListItemsQueryDto,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string | undefined> {
    return this.reads
      .items(auth, id, query, ifNoneMatch)
      .then((reply) => sendJsonReply(res, reply));
  }

  @Get(':session_id/child_sessions')
  @Authenticated()
  @Endpoint({
    summary: 'List sub-agent sessions',
    description: 'Children of a session, newest first.',
  })
  @ApiOkResponse({ type: ChildSessionListResponseDto, example: CHILD_SESSION_LIST_EXAMPLE })
  @ApiErrors(404, 422)
  children(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Query() query: ListChildSessionsQueryDto,
  ): Promise<ListEnvelope<ChildSessionSummaryDto>> {
    return this.sessions.listChildren(auth, id, query);
  }

  @Get(':session_id/agent')
  @Authenticated()
  @Endpoint({
    summary: "The session's agent",
    description: 'AgentObject plus its policies and tools ([{name, runtime}]).',
  })
  @ApiOkResponse({ type: SessionAgentResponseDto, example: SESSION_AGENT_EXAMPLE })
  @ApiErrors(404)
  agent(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
  ): Promise<SessionAgentResponseDto> {
    return this.sessions.getAgent(auth, id);
  }

  @Post(':session_id/events')
  @HttpCode(202)
  @Authenticated()
  @Endpoint({
    summary: 'Post an event',
    description:
      'message (a user message starts a turn on the bound runner; 503 runner_unavailable without one), ' +
      'function_call_output (client tool result), compaction, interrupt, stop_session, retry_session.',
  })
  @BodyExample(SessionEventInputDto, POST_MESSAGE_EXAMPLE)
  @ApiAcceptedResponse({ type: EventAckResponseDto, example: EVENT_ACK_EXAMPLE })
  @ApiErrors(400, 403, 404, 413, 422, 503)
  @Idempotent()
  postEvent(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Body() dto: SessionEventInputDto,
  ): Promise<EventAckResponseDto> {
    return this.turns.post(auth, id, dto);
  }

  /**
   * The one route with more than one statement (style rule 6): the stream, written by the SSE
   * writer (`src/common/sse/sse-writer.ts`), not by Nest's `@Sse()` pipeline (fan-out cost).
   */
  @Get(':session_id/stream')
  @Authenticated()
  @SseResponse(
    'Server-Sent Events: `session.heartbeat` first, then live events (upstream ServerStreamEvent), ' +
      'beside one `session.child_session.updated` (full summary) per sub-agent child, the 100 newest. ' +
      'Durable events carry `id: <seq>`; send Last-Event-ID to resume; `data: [DONE]` ends a clean close.',
  )
  @Endpoint({
    summary: 'Stream session events',
    description: 'Live tail of the session, resumable with Last-Event-ID.',
  })
  @ApiErrors(404, 422)
  async stream(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Query() _query: StreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const frames$ = await this.events.openStream(auth, id, { lastEventId });
    writeSse(req, res, frames$, { maxPending: SSE_MAX_PENDING });
  }
}
