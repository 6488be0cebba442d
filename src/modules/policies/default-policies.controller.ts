import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { AdminOnly, Auth, Authenticated } from 'src/common/auth/auth.decorators';
import { IdPrefix } from 'src/common/ids/ids';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { BodyExample } from 'src/common/openapi/body-example.decorator';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { IdParamPipe } from 'src/common/validation/id-param.pipe';
import {
  CREATE_POLICY_EXAMPLE,
  DEFAULT_POLICY_EXAMPLE,
  DEFAULT_POLICY_LIST_EXAMPLE,
  POLICY_DELETED_EXAMPLE,
  UPDATE_POLICY_EXAMPLE,
} from 'src/modules/policies/dto/policy-examples.constants';
import { CreatePolicyDto, UpdatePolicyDto } from 'src/modules/policies/dto/policy-request.dto';
import {
  DefaultPolicyListResponseDto,
  DefaultPolicyResponseDto,
  PolicyDeletedResponseDto,
} from 'src/modules/policies/dto/policy-response.dto';
import { PoliciesService } from 'src/modules/policies/policies.service';

const PolicyIdPipe = new IdParamPipe(IdPrefix.Policy);

@ApiTags(ApiTag.Policies)
@Controller('v1/policies')
export class DefaultPoliciesController {
  constructor(private readonly policies: PoliciesService) {}

  @Get()
  @Authenticated()
  @Endpoint({
    summary: 'List server-wide policies',
    description: 'Applied to every session after its own and its agent’s policies.',
  })
  @ApiOkResponse({ type: DefaultPolicyListResponseDto, example: DEFAULT_POLICY_LIST_EXAMPLE })
  list(@Auth() auth: AuthPrincipal): Promise<DefaultPolicyListResponseDto> {
    return this.policies.listDefaults(auth);
  }

  @Post()
  @HttpCode(200)
  @AdminOnly()
  @Endpoint({
    summary: 'Add a server-wide policy',
    description:
      'Admins only. Registry handlers only (type python); params validated; 409 on a duplicate name.',
  })
  @BodyExample(CreatePolicyDto, CREATE_POLICY_EXAMPLE)
  @ApiOkResponse({ type: DefaultPolicyResponseDto, example: DEFAULT_POLICY_EXAMPLE })
  @ApiErrors(400, 409, 413, 422)
  create(
    @Auth() auth: AuthPrincipal,
    @Body() dto: CreatePolicyDto,
  ): Promise<DefaultPolicyResponseDto> {
    return this.policies.createDefault(auth, dto);
  }

  @Get(':policy_id')
  @Authenticated()
  @Endpoint({ summary: 'Get a server-wide policy', description: '404 when it is not a default.' })
  @ApiOkResponse({ type: DefaultPolicyResponseDto, example: DEFAULT_POLICY_EXAMPLE })
  @ApiErrors(404)
  get(
    @Auth() auth: AuthPrincipal,
    @Param('policy_id', PolicyIdPipe) policyId: string,
  ): Promise<DefaultPolicyResponseDto> {
    return this.policies.getDefault(auth, policyId);
  }

  @Patch(':policy_id')
  @AdminOnly()
  @Endpoint({
    summary: 'Update a server-wide policy',
    description: 'Admins only: name, handler, enabled.',
  })
  @BodyExample(UpdatePolicyDto, UPDATE_POLICY_EXAMPLE)
  @ApiOkResponse({ type: DefaultPolicyResponseDto, example: DEFAULT_POLICY_EXAMPLE })
  @ApiErrors(400, 404, 409, 422)
  update(
    @Auth() auth: AuthPrincipal,
    @Param('policy_id', PolicyIdPipe) policyId: string,
    @Body() dto: UpdatePolicyDto,
  ): Promise<DefaultPolicyResponseDto> {
    return this.policies.updateDefault(auth, policyId, dto);
  }

  @Delete(':policy_id')
  @AdminOnly()
  @Endpoint({ summary: 'Delete a server-wide policy', description: 'Admins only; idempotent.' })
  @ApiOkResponse({ type: PolicyDeletedResponseDto, example: POLICY_DELETED_EXAMPLE })
  @ApiErrors(404)
  remove(
    @Auth() auth: AuthPrincipal,
    @Param('policy_id', PolicyIdPipe) policyId: string,
  ): Promise<PolicyDeletedResponseDto> {
    return this.policies.deleteDefault(auth, policyId);
  }
}
