import { Controller, Get, Query, Req } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';

import { Public } from 'src/common/auth/auth.decorators';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { HEALTH_EXAMPLE } from 'src/modules/system/dto/system-examples.constants';
import { HealthResponseDto } from 'src/modules/system/dto/system-response.dto';
import { HealthQueryDto } from 'src/modules/system/dto/health-query.dto';
import { HealthService } from 'src/modules/system/health.service';

@ApiTags(ApiTag.System)
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @Public()
  @Endpoint({
    summary: 'Liveness',
    description:
      'Always {"status":"ok"}; with session_id / session_ids also whether their runners are ' +
      'online. Liveness is only reported for sessions the caller may read (send the usual ' +
      'Bearer token in jwt mode); any other id reads as offline.',
  })
  @ApiOkResponse({ type: HealthResponseDto, example: HEALTH_EXAMPLE })
  @ApiErrors(422)
  get(@Req() req: Request, @Query() query: HealthQueryDto): Promise<HealthResponseDto> {
    return this.health.health(req, query);
  }
}
