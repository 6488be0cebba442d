import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated } from 'src/common/auth/auth.decorators';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { BodyExample } from 'src/common/openapi/body-example.decorator';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { HostIdPipe } from 'src/common/validation/id-param.pipe';
import {
  LAUNCH_RUNNER_EXAMPLE,
  LAUNCH_RUNNER_RESPONSE_EXAMPLE,
} from 'src/modules/hosts/dto/host-examples.constants';
import { LaunchRunnerDto } from 'src/modules/hosts/dto/host-request.dto';
import { LaunchRunnerResponseDto } from 'src/modules/hosts/dto/host-response.dto';
import { SessionPlacementService } from 'src/modules/sessions/session-placement.service';

/**
 * `POST /v1/hosts/{id}/runners` lives with sessions: launching binds a session (the hosts
 * feature knows nothing of sessions; style rule 20).
 */
@ApiTags(ApiTag.Hosts)
@Controller('v1/hosts')
export class HostRunnersController {
  constructor(private readonly placement: SessionPlacementService) {}

  @Post(':host_id/runners')
  @HttpCode(200)
  @Authenticated()
  @Endpoint({
    summary: 'Launch a runner for a session on a host',
    description:
      'Mints a binding token, binds its runner id to the session (400 if one is bound) and has ' +
      'the host start the runner in `workspace`. 409 host offline, 504 no answer in time, 502 ' +
      'host failure, 412 `harness_not_configured`, 410 `workspace_missing`; a failed launch ' +
      'rolls the binding back.',
  })
  @BodyExample(LaunchRunnerDto, LAUNCH_RUNNER_EXAMPLE)
  @ApiOkResponse({ type: LaunchRunnerResponseDto, example: LAUNCH_RUNNER_RESPONSE_EXAMPLE })
  @ApiErrors(400, 404, 409, 410, 412, 413, 422, 502, 504)
  launch(
    @Auth() auth: AuthPrincipal,
    @Param('host_id', HostIdPipe) hostId: string,
    @Body() dto: LaunchRunnerDto,
  ): Promise<LaunchRunnerResponseDto> {
    return this.placement.launchOnHostRoute(auth, hostId, dto);
  }
}
