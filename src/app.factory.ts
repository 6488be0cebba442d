import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication, NestExpressBodyParserOptionsFor } from '@nestjs/platform-express';

import { AppModule } from 'src/app.module';
import { handleClientErrors } from 'src/common/http/client-error.handler';
import { inputGuardMiddleware, rejectDeepJson } from 'src/common/http/input-guard.middleware';
import { requestIdMiddleware } from 'src/common/http/request-id.middleware';
import { requestLoggerMiddleware } from 'src/common/http/request-logger.middleware';
import { setupSwagger } from 'src/common/openapi/swagger';
import { AppConfig } from 'src/config/app-config';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

export function logLevels(level: AppConfig['logLevel']): LogLevel[] {
  return LEVELS.slice(0, LEVELS.indexOf(level) + 1);
}

/** The HTTP pipeline shared by `omnigent serve` and the e2e tests. */
export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  app.disable('x-powered-by');
  app.use(requestIdMiddleware);
  app.use(requestLoggerMiddleware);
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
    logger: logLevels(config.logLevel),
    preview: options.preview,
  });
  configureApp(app, config);
  return app;
}
