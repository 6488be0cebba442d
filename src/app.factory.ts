import { NestFactory } from '@nestjs/core';
import { NestExpressApplication, NestExpressBodyParserOptionsFor } from '@nestjs/platform-express';

import { AppModule } from 'src/app.module';
import { applyEdges } from 'src/common/http/edge.util';
import { handleClientErrors } from 'src/common/http/client-error.handler';
import { serveConsole } from 'src/common/http/console-static';
import { inputGuardMiddleware, rejectDeepJson } from 'src/common/http/input-guard.middleware';
import { requestIdMiddleware } from 'src/common/http/request-id.middleware';
import { AppLogger } from 'src/common/logging/app-logger.service';
import { httpMetricsMiddleware } from 'src/modules/metrics/http-metrics.middleware';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { setupSwagger } from 'src/common/openapi/swagger';
import { AppConfig } from 'src/config/app-config';

/** The HTTP pipeline shared by `omnigent serve` and the e2e tests. */
export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  app.disable('x-powered-by');
  // A strong ETag (hash of the body) on every JSON answer; Express answers 304 when the
  // request's If-None-Match names it (snapshots and item pages: a client polling an unchanged
  // session gets no body). A route that sets its own ETag (file content) keeps it.
  app.set('etag', 'strong');
  app.use(requestIdMiddleware);
  app.use(httpMetricsMiddleware(app.get(MetricsService)));
  applyEdges(app, config);
  serveConsole(app);
  // Nest reserves `verify` only for `rawBody: true` (which we don't use) and passes it on as is.
  app.useBodyParser('json', {
    limit: config.http.bodyLimit,
    type: ['application/json', 'application/*+json'],
    verify: rejectDeepJson(config.http.jsonMaxDepth),
  } as NestExpressBodyParserOptionsFor<'json'>);
  app.use(inputGuardMiddleware(config.http.jsonMaxDepth));
  handleClientErrors(app.getHttpServer());
  setupSwagger(app, config);
}

export async function createApplication(
  config: AppConfig,
  options: { preview?: boolean } = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    // Held until the pino logger takes over, so even the first lines come out as JSON or pretty.
    bufferLogs: true,
    preview: options.preview,
  });
  app.useLogger(app.get(AppLogger));
  configureApp(app, config);
  return app;
}
