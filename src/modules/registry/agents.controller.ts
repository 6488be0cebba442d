import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated } from 'src/common/auth/auth.decorators';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { ListEnvelope, ListQueryDto } from 'src/common/pagination/pagination';
import { AgentsService } from 'src/modules/registry/agents.service';
import { AGENT_LIST_EXAMPLE } from 'src/modules/registry/dto/agent-examples.constants';
import {
  AgentListResponseDto,
  AgentResponseDto,
} from 'src/modules/registry/dto/agent-response.dto';

@ApiTags(ApiTag.Agents)
@Controller('v1/agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Get()
  @Authenticated()
  @Endpoint({
    summary: 'List agents',
    description:
      'Built-in and registered agents (session-scoped agents from uploaded bundles never appear). ' +
      'Newest first by default; cursor pagination with limit/after/before/order.',
  })
  @ApiOkResponse({ type: AgentListResponseDto, example: AGENT_LIST_EXAMPLE })
  @ApiErrors(422)
  list(
    @Auth() auth: AuthPrincipal,
    @Query() query: ListQueryDto,
  ): Promise<ListEnvelope<AgentResponseDto>> {
    return this.agents.list(auth, query);
  }
}
