import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { Authenticated } from 'src/common/auth/auth.decorators';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { POLICY_REGISTRY_EXAMPLE } from 'src/modules/policies/dto/policy-examples.constants';
import { PolicyRegistryResponseDto } from 'src/modules/policies/dto/policy-response.dto';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';

@ApiTags(ApiTag.PolicyRegistry)
@Controller('v1/policy-registry')
export class PolicyRegistryController {
  constructor(private readonly registry: PolicyRegistryService) {}

  @Get()
  @Authenticated()
  @Endpoint({
    summary: 'List policy handlers',
    description:
      'The built-in handlers a policy may name (the allow-list), under upstream ids, with their ' +
      'parameter schemas. LLM-judged handlers are absent: this server has no judge model.',
  })
  @ApiOkResponse({ type: PolicyRegistryResponseDto, example: POLICY_REGISTRY_EXAMPLE })
  list(): PolicyRegistryResponseDto {
    return { object: 'list', data: this.registry.list() };
  }
}
