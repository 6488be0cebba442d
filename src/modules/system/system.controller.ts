import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated, Public } from 'src/common/auth/auth.decorators';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import {
  ME_EXAMPLE,
  SERVER_INFO_EXAMPLE,
  VERSION_EXAMPLE,
} from 'src/modules/system/dto/system-examples.constants';
import {
  MeResponseDto,
  ServerInfoResponseDto,
  toMeResponse,
  toServerInfo,
  VersionResponseDto,
} from 'src/modules/system/dto/system-response.dto';

@ApiTags(ApiTag.System)
@Controller()
export class SystemController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get('api/version')
  @Public()
  @Endpoint({ summary: 'Server version', description: 'The installed package version.' })
  @ApiOkResponse({ type: VersionResponseDto, example: VERSION_EXAMPLE })
  version(): VersionResponseDto {
    return { version: this.config.version };
  }

  @Get('v1/info')
  @Public()
  @Endpoint({
    summary: 'Server capabilities',
    description: 'Unauthenticated capability probe (upstream ServerInfoResponse).',
  })
  @ApiOkResponse({ type: ServerInfoResponseDto, example: SERVER_INFO_EXAMPLE })
  info(): ServerInfoResponseDto {
    return toServerInfo(this.config);
  }

  @Get('v1/me')
  @Authenticated()
  @Endpoint({ summary: 'Who am I', description: 'The caller as the server sees it.' })
  @ApiOkResponse({ type: MeResponseDto, example: ME_EXAMPLE })
  me(@Auth() principal: AuthPrincipal): MeResponseDto {
    return toMeResponse(principal);
  }
}
