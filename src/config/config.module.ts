import { DynamicModule, Global, Module } from '@nestjs/common';

import { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      exports: [APP_CONFIG],
      global: true,
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
    };
  }
}
