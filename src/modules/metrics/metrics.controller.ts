import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';

import { Public } from 'src/common/auth/auth.decorators';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { MetricsTokenGuard } from 'src/modules/metrics/metrics-token.guard';
import { MetricsService } from 'src/modules/metrics/metrics.service';

@ApiTags(ApiTag.System)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Public()
  @UseGuards(MetricsTokenGuard)
  @Endpoint({
    summary: 'Prometheus metrics',
    description:
      'Prometheus text format: HTTP requests and latency by route, open streams, frames sent, ' +
      'connected runners and hosts, turns by outcome and duration, pending approvals, bus ' +
      'delivery time, database pool, process. Public unless OMNIGENT_METRICS_TOKEN is set; ' +
      'then send it as a Bearer token.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Metrics in the Prometheus text format.',
    content: {
      'text/plain': {
        schema: { type: 'string' },
        example:
          '# HELP omnigent_open_streams Open session streams.\n' +
          '# TYPE omnigent_open_streams gauge\nomnigent_open_streams 2\n',
      },
    },
  })
  @ApiErrors([401, 'OMNIGENT_METRICS_TOKEN is set and the Bearer token does not match.'])
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
