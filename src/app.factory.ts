import { NestFactory } from '@nestjs/core';
import { NestExpressApplication, NestExpressBodyParserOptionsFor } from '@nestjs/platform-express';

import { PARAMS_PROVIDER_TOKEN, Params, PinoLogger } from 'nestjs-pino';

import { AppModule } from 'src/app.module';
import { RequestAuthService } from 'src/common/auth/request-auth.service';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { FastLane } from 'src/common/http/fast-lane.middleware';
import { applyEdges } from 'src/common/http/edge.util';
import { handleClientErrors } from 'src/common/http/client-error.handler';
import { serveConsole } from 'src/common/http/console-static';
import { inputGuardMiddleware, rejectDeepJson } from 'src/common/http/input-guard.middleware';
import { requestIdMiddleware } from 'src/common/http/request-id.middleware';
import { AppLogger } from 'src/common/logging/app-logger.service';
import { httpMetricsMiddleware } from 'src/modules/metrics/http-metrics.middleware';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { sessionFastRoutes } from 'src/modules/sessions/session-fast-reads';
import { SessionsController } from 'src/modules/sessions/sessions.controller';
import { setupSwagger } from 'src/common/openapi/swagger';
import { AppValidationPipe } from 'src/common/validation/app-validation.pipe';
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
  mountFastReads(app, config);
  handleClientErrors(app.getHttpServer());
  setupSwagger(app, config);
}

const FAST_LANES = new WeakMap<NestExpressApplication, FastLane>();

/** The app's fast lane, when it has one (tests count what it served). */
export function fastLaneOf(app: NestExpressApplication): FastLane | undefined {
  return FAST_LANES.get(app);
}

/**
 * The hot session reads skip the generic pipeline (issue 12), unless switched off or a
 * per-user rate limit is on (its guard runs in Nest only).
 */
function mountFastReads(app: NestExpressApplication, config: AppConfig): void {
  if (!config.http.fastReads || config.ops.rateLimitPerMinute) {
    return;
  }
  const lane = new FastLane(sessionFastRoutes(app.get(SessionsController)), {
    auth: app.get(RequestAuthService),
    filter: new AllExceptionsFilter(),
    logs: new PinoLogger(app.get<Params>(PARAMS_PROVIDER_TOKEN)),
    pipe: new AppValidationPipe(config),
  });
  FAST_LANES.set(app, lane);
  app.use(lane.middleware);
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
