import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';

import { RateLimitGuard, rateBucket, RateBucket } from 'src/common/rate-limit/rate-limit.guard';

const MINUTE_MS = 60_000;
const BUCKETS: RateBucket[] = ['api', 'streams', 'runners'];

/**
 * Imported only when OMNIGENT_RATE_LIMIT_PER_MINUTE is set. Its global guard comes after
 * AppModule's AuthGuard (imported modules' guards are applied after the root's).
 */
@Module({})
export class RateLimitModule {
  static forRoot(perMinute: number): DynamicModule {
    return {
      imports: [
        ThrottlerModule.forRoot({
          setHeaders: false,
          throttlers: BUCKETS.map((name) => ({
            name,
            ttl: MINUTE_MS,
            limit: perMinute,
            skipIf: (context) => rateBucket(context) !== name,
          })),
        }),
      ],
      module: RateLimitModule,
      providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
    };
  }
}
