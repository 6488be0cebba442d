import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated } from 'src/common/auth/auth.decorators';
import { ApiErrors as ApiErrorBodies } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { BodyExample } from 'src/common/openapi/body-example.decorator';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import {
  CreateResponseDto,
  GetResponseQueryDto,
  UpdateResponseDto,
} from 'src/modules/responses/dto/response-request.dto';
import {
  ResponseDeletedDto,
  ResponseObjectDto,
} from 'src/modules/responses/dto/response-response.dto';
import {
  CREATE_RESPONSE_EXAMPLE,
  RESPONSE_DELETED_EXAMPLE,
  RESPONSE_EXAMPLE,
  UPDATE_RESPONSE_EXAMPLE,
} from 'src/modules/responses/dto/response-examples.constants';
import { ResponsesService } from 'src/modules/responses/responses.service';

const ERRORS: Record<number, string> = {
  400: '`invalid_input`: the request cannot apply (e.g. `model` is not the chain’s agent).',
  403: '`forbidden`: a request-phase policy denied the message.',
  404: '`not_found`: no such response (or another user’s), or `model` names no agent.',
  409: '`conflict`: the response is queued behind another turn, awaits an approval, or has ended.',
  422: '`validation_error`: a malformed body, input item or query parameter.',
  503: '`runner_unavailable`: no runner to run the response on.',
  504: '`timeout`: a blocking create outlived OMNIGENT_RESPONSES_TIMEOUT_MS (the turn goes on).',
};

/** The route's error answers, each with the error body and this API's reason for it. */
function ApiErrors(...statuses: number[]) {
  return ApiErrorBodies(...statuses.map((status): [number, string] => [status, ERRORS[status]]));
}

const STREAM_DESCRIPTION =
  'With `stream: true`: `text/event-stream` frames `event: <type>` / `id:` / `data: <json>` — ' +
  '`session.heartbeat`, then this response’s `response.*` events (`response.created`, ' +
  '`response.in_progress`, `response.output_text.delta`, `response.output_item.done`, …) up to ' +
  'its terminal `response.completed` / `failed` / `incomplete` / `cancelled`, then `data: [DONE]`.';

@ApiTags(ApiTag.Responses)
@Controller('v1/responses')
export class ResponsesController {
  constructor(private readonly responses: ResponsesService) {}

  @Post()
  @HttpCode(200)
  @Authenticated()
  @Endpoint({
    summary: 'Create a response',
    description:
      'Runs one turn of an agent (`model`: agent name or id) on the caller’s runner. A chain of ' +
      'responses is a session; `previous_response_id` continues it (or forks it when that ' +
      'response is not the chain’s latest). Answers the final response object (waiting up to ' +
      'OMNIGENT_RESPONSES_TIMEOUT_MS), at once with `background: true`, or as SSE with ' +
      '`stream: true`. See docs/RESPONSES.md.',
  })
  @BodyExample(CreateResponseDto, CREATE_RESPONSE_EXAMPLE)
  @ApiProduces('application/json', 'text/event-stream')
  @ApiResponse({
    status: 200,
    type: ResponseObjectDto,
    description: `The response object. ${STREAM_DESCRIPTION}`,
    example: RESPONSE_EXAMPLE,
  })
  @ApiErrors(400, 403, 404, 409, 422, 503, 504)
  create(
    @Auth() auth: AuthPrincipal,
    @Body() dto: CreateResponseDto,
  ): Promise<ResponseObjectDto | Response> {
    return this.responses.create(auth, dto);
  }

  @Get(':response_id')
  @Authenticated()
  @Endpoint({
    summary: 'Get a response',
    description:
      'The response object (poll it until `status` is completed, failed, incomplete or ' +
      'cancelled), or with `stream=true` its live events as SSE.',
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: ResponseObjectDto, example: RESPONSE_EXAMPLE })
  @ApiErrors(404, 422)
  get(
    @Auth() auth: AuthPrincipal,
    @Param('response_id') id: string,
    @Query() query: GetResponseQueryDto,
  ): Promise<ResponseObjectDto | Response> {
    return this.responses.get(auth, id, query);
  }

  @Patch(':response_id')
  @Authenticated()
  @Endpoint({
    summary: 'Submit client tool results',
    description:
      'Delivers `tool_results` (`[{call_id, output}]`) to the response’s pending client-side ' +
      'tool calls (`function_call` items with status `action_required`); the turn goes on.',
  })
  @BodyExample(UpdateResponseDto, UPDATE_RESPONSE_EXAMPLE)
  @ApiOkResponse({ type: ResponseObjectDto, example: RESPONSE_EXAMPLE })
  @ApiErrors(400, 404, 409, 422)
  submitToolResults(
    @Auth() auth: AuthPrincipal,
    @Param('response_id') id: string,
    @Body() dto: UpdateResponseDto,
  ): Promise<ResponseObjectDto> {
    return this.responses.submitToolResults(auth, id, dto);
  }

  @Post(':response_id/cancel')
  @HttpCode(200)
  @Authenticated()
  @Endpoint({
    summary: 'Cancel a response',
    description:
      'Interrupts the running response and answers it once ended (`incomplete`, reason ' +
      '`user_interrupt`); an ended response is answered as it is.',
  })
  @ApiOkResponse({ type: ResponseObjectDto, example: RESPONSE_EXAMPLE })
  @ApiErrors(404, 409)
  cancel(
    @Auth() auth: AuthPrincipal,
    @Param('response_id') id: string,
  ): Promise<ResponseObjectDto> {
    return this.responses.cancel(auth, id);
  }

  @Delete(':response_id')
  @Authenticated()
  @Endpoint({
    summary: 'Delete a response',
    description:
      'Forgets the response (interrupting it if it runs). The chain’s session is deleted with ' +
      'its last response.',
  })
  @ApiOkResponse({ type: ResponseDeletedDto, example: RESPONSE_DELETED_EXAMPLE })
  @ApiErrors(404)
  delete(
    @Auth() auth: AuthPrincipal,
    @Param('response_id') id: string,
  ): Promise<ResponseDeletedDto> {
    return this.responses.delete(auth, id);
  }
}
