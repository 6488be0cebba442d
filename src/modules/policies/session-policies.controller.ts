import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
} from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated } from 'src/common/auth/auth.decorators';
import { IdPrefix } from 'src/common/ids/ids';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { BodyExample } from 'src/common/openapi/body-example.decorator';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { IdParamPipe, SessionIdPipe } from 'src/common/validation/id-param.pipe';
import {
  CREATE_POLICY_EXAMPLE,
  ELICITATION_LOOKUP_EXAMPLE,
  EVALUATE_EXAMPLE,
  EVALUATE_RESPONSE_EXAMPLE,
  EVALUATE_SCHEMA,
  POLICY_DELETED_EXAMPLE,
  RESOLVE_ELICITATION_EXAMPLE,
  SESSION_POLICY_EXAMPLE,
  SESSION_POLICY_LIST_EXAMPLE,
  UPDATE_POLICY_EXAMPLE,
} from 'src/modules/policies/dto/policy-examples.constants';
import {
  CreatePolicyDto,
  ResolveElicitationDto,
  UpdatePolicyDto,
} from 'src/modules/policies/dto/policy-request.dto';
import {
  ElicitationLookupResponseDto,
  ElicitationResolveAckDto,
  EvaluateResponseDto,
  PolicyDeletedResponseDto,
  SessionPolicyListResponseDto,
  SessionPolicyResponseDto,
} from 'src/modules/policies/dto/policy-response.dto';
import { ElicitationsService } from 'src/modules/policies/elicitations.service';
import { PoliciesService } from 'src/modules/policies/policies.service';
import {
  EvaluateAnswer,
  PolicyEvaluateService,
} from 'src/modules/policies/policy-evaluate.service';

const PolicyIdPipe = new IdParamPipe(IdPrefix.Policy);

@ApiTags(ApiTag.Sessions)
@Controller('v1/sessions/:session_id')
export class SessionPoliciesController {
  constructor(
    private readonly elicitations: ElicitationsService,
    private readonly evaluator: PolicyEvaluateService,
    private readonly policies: PoliciesService,
  ) {}

  // Declared before `policies/:policy_id` routes so `evaluate` is never read as a policy id.
  @Post('policies/evaluate')
  @HttpCode(200)
  @Authenticated()
  @Endpoint({
    summary: 'Evaluate policies for one event',
    description:
      'For native harness hooks: {event: {type: PHASE_*, data, target?, request_data?, context?}}. ' +
      'JSON only (415). Read-level callers get the verdict without side effects (ASK included); ' +
      'for edit-level callers an ASK on TOOL_CALL / LLM_REQUEST / REQUEST waits for the human and ' +
      'answers ALLOW or DENY.',
  })
  @BodyExample(EVALUATE_SCHEMA, EVALUATE_EXAMPLE)
  @ApiOkResponse({ type: EvaluateResponseDto, example: EVALUATE_RESPONSE_EXAMPLE })
  @ApiErrors(400, 404, 413, 415)
  evaluate(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Headers('content-type') contentType: string | undefined,
    @Body() body: Record<string, unknown>,
  ): Promise<EvaluateAnswer> {
    return this.evaluator.evaluate(auth, id, contentType, body);
  }

  @Get('policies')
  @Authenticated()
  @Endpoint({
    summary: 'List session policies',
    description: "The session's stored policies, oldest first.",
  })
  @ApiOkResponse({ type: SessionPolicyListResponseDto, example: SESSION_POLICY_LIST_EXAMPLE })
  @ApiErrors(404)
  list(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
  ): Promise<SessionPolicyListResponseDto> {
    return this.policies.listSession(auth, id);
  }

  @Post('policies')
  @HttpCode(200)
  @Authenticated()
  @Endpoint({
    summary: 'Attach a session policy',
    description:
      'A registry handler with its factory_params (validated against the handler schema: 400). ' +
      'Type url answers 400 (not evaluable yet); a duplicate name 409. Answers 200, as upstream.',
  })
  @BodyExample(CreatePolicyDto, CREATE_POLICY_EXAMPLE)
  @ApiOkResponse({ type: SessionPolicyResponseDto, example: SESSION_POLICY_EXAMPLE })
  @ApiErrors(400, 403, 404, 409, 413, 422)
  create(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Body() dto: CreatePolicyDto,
  ): Promise<SessionPolicyResponseDto> {
    return this.policies.createSession(auth, id, dto);
  }

  @Get('policies/:policy_id')
  @Authenticated()
  @Endpoint({
    summary: 'Get a session policy',
    description: '404 unless the policy is this session’s.',
  })
  @ApiOkResponse({ type: SessionPolicyResponseDto, example: SESSION_POLICY_EXAMPLE })
  @ApiErrors(404)
  get(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Param('policy_id', PolicyIdPipe) policyId: string,
  ): Promise<SessionPolicyResponseDto> {
    return this.policies.getSession(auth, id, policyId);
  }

  @Patch('policies/:policy_id')
  @Authenticated()
  @Endpoint({
    summary: 'Update a session policy',
    description: 'name, handler or enabled; a new handler re-validates the stored factory_params.',
  })
  @BodyExample(UpdatePolicyDto, UPDATE_POLICY_EXAMPLE)
  @ApiOkResponse({ type: SessionPolicyResponseDto, example: SESSION_POLICY_EXAMPLE })
  @ApiErrors(400, 403, 404, 409, 422)
  update(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Param('policy_id', PolicyIdPipe) policyId: string,
    @Body() dto: UpdatePolicyDto,
  ): Promise<SessionPolicyResponseDto> {
    return this.policies.updateSession(auth, id, policyId, dto);
  }

  @Delete('policies/:policy_id')
  @Authenticated()
  @Endpoint({ summary: 'Detach a session policy', description: 'Idempotent: {"deleted": true}.' })
  @ApiOkResponse({ type: PolicyDeletedResponseDto, example: POLICY_DELETED_EXAMPLE })
  @ApiErrors(403, 404)
  remove(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Param('policy_id', PolicyIdPipe) policyId: string,
  ): Promise<PolicyDeletedResponseDto> {
    return this.policies.deleteSession(auth, id, policyId);
  }

  @Post('elicitations/:elicitation_id/resolve')
  @HttpCode(202)
  @Authenticated()
  @Endpoint({
    summary: 'Resolve an approval',
    description:
      'accept runs the held tool call (or message); decline denies it and ends the turn; cancel ' +
      'denies it. Decided exactly once: a later answer gets 409.',
  })
  @BodyExample(ResolveElicitationDto, RESOLVE_ELICITATION_EXAMPLE)
  @ApiAcceptedResponse({ type: ElicitationResolveAckDto, example: { queued: false } })
  @ApiErrors(403, 404, 409, 422)
  resolve(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Param('elicitation_id') elicitationId: string,
    @Body() dto: ResolveElicitationDto,
  ): Promise<{ queued: false }> {
    return this.elicitations.resolve(auth, id, elicitationId, dto);
  }

  @Get('elicitations/:elicitation_id')
  @Authenticated()
  @Endpoint({
    summary: 'Look up an approval',
    description: 'pending (with its message) or resolved (also for unknown ids).',
  })
  @ApiOkResponse({ type: ElicitationLookupResponseDto, example: ELICITATION_LOOKUP_EXAMPLE })
  @ApiErrors(404)
  lookup(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) id: string,
    @Param('elicitation_id') elicitationId: string,
  ): Promise<ElicitationLookupResponseDto> {
    return this.elicitations.lookup(auth, id, elicitationId);
  }
}
