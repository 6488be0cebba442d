import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';

import { IdempotencyInterceptor } from 'src/common/idempotency/idempotency.interceptor';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';

/**
 * Honours `Idempotency-Key` on this route (IdempotencyInterceptor). Place it above any
 * `@UseInterceptors` that parses the body, so it sees the parsed request.
 */
export function Idempotent(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes retries safe: the first answer for this key (per user) is replayed for 24 h with ' +
        '`Idempotent-Replayed: true`; the same key with a different request is 409.',
      schema: { type: 'string', maxLength: 255 },
    }),
    ApiErrors([409, 'Idempotency-Key reused with a different request.']),
    UseInterceptors(IdempotencyInterceptor),
  );
}
