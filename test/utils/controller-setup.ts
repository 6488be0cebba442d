import { Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';

import { AuthGuard } from 'src/common/auth/auth.guard';
import { JwtVerifierService } from 'src/common/auth/jwt-verifier.service';
import { RequestAuthService } from 'src/common/auth/request-auth.service';
import { mintToken } from 'src/common/auth/token-signer';
import { UsersService } from 'src/common/auth/users.service';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { AppValidationPipe } from 'src/common/validation/app-validation.pipe';
import { AppConfig, getConfig } from 'src/config/app-config';
import { IdempotencyRepository } from 'src/common/idempotency/idempotency.repository';
import { APP_CONFIG } from 'src/config/config.constants';
import { automock } from 'test/utils/automock';

export interface ControllerContext {
  http: TestAgent;
  /** The strict automock standing in for one of the controller's services. */
  mock<S>(Service: Type<S>): jest.Mocked<S>;
  /** `Authorization` headers of a user (an admin with `{ admin: true }`). */
  as(userId: string, options?: { admin?: boolean }): Record<string, string>;
  close(): Promise<void>;
}

/**
 * The controller alone over HTTP (immich's `controllerSetup`): the real global guard, validation
 * pipe and exception filter in `jwt` mode, and a strict automock for each service the controller
 * uses, so a spec tests the auth and validation contract of its routes and what reaches the
 * service, without a database.
 */
export async function controllerSetup(
  Controller: Type<unknown>,
  services: Type<unknown>[],
): Promise<ControllerContext> {
  const config: AppConfig = getConfig({
    OMNIGENT_AUTH: 'jwt',
    OMNIGENT_JWT_SECRET: 'controller-spec-secret-'.padEnd(40, 'x'),
    OMNIGENT_LOG_LEVEL: 'error',
  });
  const mocks = new Map<unknown, unknown>(services.map((service) => [service, automock(service)]));
  const module = await Test.createTestingModule({
    controllers: [Controller],
    // As AuthModule has it (keys are passed per call), without its database half.
    imports: [JwtModule.register({})],
    providers: [
      { provide: APP_CONFIG, useValue: config },
      { provide: APP_FILTER, useClass: AllExceptionsFilter },
      { provide: APP_GUARD, useClass: AuthGuard },
      { provide: APP_PIPE, useClass: AppValidationPipe },
      JwtVerifierService,
      RequestAuthService,
      { provide: UsersService, useValue: automock(UsersService, { strict: false }) },
      // For @Idempotent() routes; these tests send no Idempotency-Key (test/e2e/idempotency).
      {
        provide: IdempotencyRepository,
        useValue: automock(IdempotencyRepository, { strict: false }),
      },
      ...[...mocks].map(([service, mock]) => ({ provide: service as Type, useValue: mock })),
    ],
  }).compile();
  const app = module.createNestApplication<NestExpressApplication>({
    bodyParser: false,
    logger: false,
  });
  app.useBodyParser('json', { limit: config.http.bodyLimit });
  await app.init();
  return {
    http: request(app.getHttpServer()),
    mock<S>(Service: Type<S>): jest.Mocked<S> {
      const mock = mocks.get(Service);
      if (!mock) {
        throw new Error(`${Service.name} was not given to controllerSetup`);
      }
      return mock as jest.Mocked<S>;
    },
    as: (userId, options = {}) => ({
      Authorization: `Bearer ${mintToken(config.auth, { sub: userId, admin: options.admin, ttlSeconds: 600 }).token}`,
    }),
    close: () => app.close(),
  };
}
