import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';

import { AppModule } from 'src/app.module';
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
  app.useBodyParser('json', {
    limit: config.http.bodyLimit,
    type: ['application/json', 'application/*+json'],
  });
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
