import { Controller, Get, Headers, HttpCode, Param, Post } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated, MachineCredential } from 'src/common/auth/auth.decorators';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { RunnerIdPipe } from 'src/common/validation/id-param.pipe';
import {
  RUNNER_LIST_EXAMPLE,
  RUNNER_STATUS_EXAMPLE,
  RUNNER_TOKEN_EXAMPLE,
} from 'src/modules/runners/dto/runner-examples.constants';
import {
  RunnerListResponseDto,
  RunnerStatusResponseDto,
  RunnerTokenResponseDto,
} from 'src/modules/runners/dto/runner-response.dto';
import { RunnersService } from 'src/modules/runners/runners.service';

@ApiTags(ApiTag.Runners)
@Controller('v1/runners')
export class RunnersController {
  constructor(private readonly runners: RunnersService) {}

  @Get()
  @Authenticated()
  @Endpoint({
    summary: 'List connected runners',
    description: "The caller's runners that hold an open channel (upstream shape: {data: [...]}).",
  })
  @ApiOkResponse({ type: RunnerListResponseDto, example: RUNNER_LIST_EXAMPLE })
  list(@Auth() auth: AuthPrincipal): Promise<RunnerListResponseDto> {
    return this.runners.list(auth);
  }

  @Get(':runner_id/status')
  @Authenticated()
  @Endpoint({
    summary: 'Runner status',
    description: "Whether the runner is connected. Another user's runner always reads as offline.",
  })
  @ApiOkResponse({ type: RunnerStatusResponseDto, example: RUNNER_STATUS_EXAMPLE })
  @ApiErrors(404)
  status(
    @Auth() auth: AuthPrincipal,
    @Param('runner_id', RunnerIdPipe) runnerId: string,
  ): Promise<RunnerStatusResponseDto> {
    return this.runners.status(auth, runnerId);
  }

  @Post(':runner_id/token')
  @HttpCode(200)
  @MachineCredential('X-Omnigent-Runner-Tunnel-Token')
  @ApiHeader({
    name: 'X-Omnigent-Runner-Tunnel-Token',
    required: true,
    description: 'The binding token.',
  })
  @Endpoint({
    summary: 'Exchange a binding token',
    description:
      'Trades the binding token of a launched runner (its SHA-256 must derive the runner id) for a ' +
      '30-minute bearer accepted on that runner channel. The binding token is the credential.',
  })
  @ApiOkResponse({ type: RunnerTokenResponseDto, example: RUNNER_TOKEN_EXAMPLE })
  @ApiErrors([400, 'This server cannot mint tokens (auth mode none, or no JWT secret).'], 404)
  token(
    @Param('runner_id', RunnerIdPipe) runnerId: string,
    @Headers('x-omnigent-runner-tunnel-token') bindingToken: string | undefined,
  ): Promise<RunnerTokenResponseDto> {
    return this.runners.mintToken(runnerId, bindingToken);
  }
}
