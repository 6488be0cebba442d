import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { Public } from 'src/common/auth/auth.decorators';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { READY_EXAMPLE } from 'src/modules/system/dto/system-examples.constants';
import { ReadyResponseDto } from 'src/modules/system/dto/ready-response.dto';
import { ReadinessService } from 'src/modules/system/readiness.service';

@ApiTags(ApiTag.System)
@Controller('ready')
export class ReadyController {
  constructor(private readonly readiness: ReadinessService) {}

  @Get()
  @Public()
  @Endpoint({
    summary: 'Readiness',
    description:
      'Whether this server should receive traffic: 200 when the database answers, 503 when it ' +
      'does not or while the server drains after SIGTERM. `/health` stays the liveness probe.',
  })
  @ApiOkResponse({ type: ReadyResponseDto, example: READY_EXAMPLE })
  @ApiErrors([503, 'Draining, or a dependency is down.'])
  ready(): Promise<ReadyResponseDto> {
    return this.readiness.check();
  }
}
