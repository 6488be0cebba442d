import { Global, Module } from '@nestjs/common';

import { IdempotencyInterceptor } from 'src/common/idempotency/idempotency.interceptor';
import { IdempotencyRepository } from 'src/common/idempotency/idempotency.repository';

/** Global, so `@Idempotent()` works on any controller. */
@Global()
@Module({
  exports: [IdempotencyInterceptor, IdempotencyRepository],
  providers: [IdempotencyInterceptor, IdempotencyRepository],
})
export class IdempotencyModule {}
