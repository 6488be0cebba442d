import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';

import { AppLogger } from 'src/common/logging/app-logger.service';
import { loggerParams } from 'src/common/logging/pino-options.util';
import { AppConfig } from 'src/config/app-config';

@Global()
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      exports: [AppLogger],
      global: true,
      imports: [LoggerModule.forRoot(loggerParams(config))],
      module: LoggingModule,
      providers: [AppLogger],
    };
  }
}
