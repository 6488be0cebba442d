import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';

import { AuthGuard } from 'src/common/auth/auth.guard';
import { AuthModule } from 'src/common/auth/auth.module';
import { BusModule } from 'src/common/bus/bus.module';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { IdempotencyModule } from 'src/common/idempotency/idempotency.module';
import { LoggingModule } from 'src/common/logging/logging.module';
import { RateLimitModule } from 'src/common/rate-limit/rate-limit.module';
import { AppValidationPipe } from 'src/common/validation/app-validation.pipe';
import { AppConfig } from 'src/config/app-config';
import { ConfigModule } from 'src/config/config.module';
import { DatabaseModule } from 'src/database/database.module';
import { FilesModule } from 'src/modules/files/files.module';
import { HostsModule } from 'src/modules/hosts/hosts.module';
import { MetricsModule } from 'src/modules/metrics/metrics.module';
import { PoliciesModule } from 'src/modules/policies/policies.module';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { ResponsesModule } from 'src/modules/responses/responses.module';
import { RunnersModule } from 'src/modules/runners/runners.module';
import { SessionsModule } from 'src/modules/sessions/sessions.module';
import { SystemModule } from 'src/modules/system/system.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      imports: [
        AuthModule,
        BusModule,
        ConfigModule.forRoot(config),
        DatabaseModule,
        FilesModule,
        HostsModule,
        IdempotencyModule,
        LoggingModule.forRoot(config),
        MetricsModule,
        ...(config.ops.rateLimitPerMinute
          ? [RateLimitModule.forRoot(config.ops.rateLimitPerMinute)]
          : []),
        PoliciesModule,
        RegistryModule,
        ResponsesModule,
        RunnersModule,
        SessionsModule,
        SystemModule,
      ],
      module: AppModule,
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_PIPE, useClass: AppValidationPipe },
      ],
    };
  }
}
