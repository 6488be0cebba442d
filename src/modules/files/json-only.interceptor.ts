import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { Observable } from 'rxjs';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

/**
 * 415 unless the body is JSON (`application/json` or `application/*+json`), before validation:
 * upstream's CSRF guard on routes a browser form must never reach (spec/api-reference.md §1.1).
 */
@Injectable()
export class JsonOnlyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const type = context.switchToHttp().getRequest<Request>().headers['content-type'] ?? '';
    if (!JSON_TYPE.test(type)) {
      throw new DomainError(
        ErrorCode.UnsupportedMediaType,
        'Unsupported Media Type: send this request as application/json',
      );
    }
    return next.handle();
  }
}
