import { NestFactory } from '@nestjs/core';
import { NestExpressApplication, NestExpressBodyParserOptionsFor } from '@nestjs/platform-express';

import { PARAMS_PROVIDER_TOKEN, Params, PinoLogger } from 'nestjs-pino';

import { AppModule } from 'src/app.module';
import { RequestAuthService } from 'src/common/auth/request-auth.service';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { EdgeMiddleware, FastFrontCounters, frontRequests } from 'src/common/http/fast-front';
import { FastLane } from 'src/common/http/fast-lane.middleware';
import { applyEdges } from 'src/common/http/edge.util';
import { ExpressServerAdapter } from 'src/common/http/express-server.util';
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
  const metrics = httpMetricsMiddleware(app.get(MetricsService));
  app.use(requestIdMiddleware);
  app.use(metrics);
  // What runs before the fast lane for a GET without a body (the fast front calls the same).
  const edges = [requestIdMiddleware, metrics, ...applyEdges(app, config)] as EdgeMiddleware[];
  serveConsole(app);
  // Nest reserves `verify` only for `rawBody: true` (which we don't use) and passes it on as is.
  app.useBodyParser('json', {
    limit: config.http.bodyLimit,
    type: ['application/json', 'application/*+json'],
    verify: rejectDeepJson(config.http.jsonMaxDepth),
  } as NestExpressBodyParserOptionsFor<'json'>);
  const inputGuard = inputGuardMiddleware(config.http.jsonMaxDepth);
  app.use(inputGuard);
  mountFastReads(app, config, edges, [inputGuard]);
  handleClientErrors(app.getHttpServer());
  setupSwagger(app, config);
}

const FAST_LANES = new WeakMap<NestExpressApplication, FastLane>();
const FAST_FRONTS = new WeakMap<NestExpressApplication, FastFrontCounters>();

/** What the app's fast front served and passed on to Express, when it has one. */
export function fastFrontOf(app: NestExpressApplication): FastFrontCounters | undefined {
  return FAST_FRONTS.get(app);
}

/** The app's fast lane, when it has one (tests count what it served). */
export function fastLaneOf(app: NestExpressApplication): FastLane | undefined {
  return FAST_LANES.get(app);
}

/**
 * The hot session reads skip the generic pipeline (issue 12), unless switched off or a
 * per-user rate limit is on (its guard runs in Nest only).
 */
function mountFastReads(
  app: NestExpressApplication,
  config: AppConfig,
  edges: EdgeMiddleware[],
  checks: EdgeMiddleware[],
): void {
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
  // The lane's routes are answered from the server's request listener, before Express's router.
  FAST_FRONTS.set(
    app,
    frontRequests(app.getHttpServer(), {
      app: app.getHttpAdapter().getInstance(),
      lane,
      edges,
      checks,
    }),
  );
}

export async function createApplication(
  config: AppConfig,
  options: { preview?: boolean } = {},
): Promise<NestExpressApplication> {
  // Requests and responses born with Express's prototypes (express-server.util.ts, issue 12).
  const adapter = new ExpressServerAdapter();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), adapter, {
    bodyParser: false,
    // Held until the pino logger takes over, so even the first lines come out as JSON or pretty.
    bufferLogs: true,
    preview: options.preview,
  });
  app.useLogger(app.get(AppLogger));
  configureApp(app, config);
  return app;
}
