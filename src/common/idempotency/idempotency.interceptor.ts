import { createHash } from 'node:crypto';

import {
  CallHandler,
  ExecutionContext,
  HttpStatus,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { catchError, from, mergeMap, Observable, of } from 'rxjs';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdempotencyRepository } from 'src/common/idempotency/idempotency.repository';

const KEY = /^[\x21-\x7e]{1,255}$/;

/** What makes two requests "the same": route, path, query, JSON body and uploaded file. */
export function requestHash(req: Request): string {
  const file = (req as { file?: { buffer?: Buffer; originalname?: string } }).file;
  const hash = createHash('sha256');
  hash.update(JSON.stringify([req.method, req.originalUrl, req.body ?? null]));
  if (file?.buffer) {
    hash.update(file.originalname ?? '');
    hash.update(file.buffer);
  }
  return hash.digest('hex');
}

/**
 * Whether the interceptor acts on a request (it sent an `Idempotency-Key`): routes answered
 * outside Nest (the fast lane) hand such requests to Nest.
 */
export function carriesIdempotencyKey(req: Request): boolean {
  return req.headers['idempotency-key'] !== undefined;
}

/**
 * `Idempotency-Key` (applied by `@Idempotent()`): the first successful answer for a (user, key)
 * is stored for 24 h and replayed with `Idempotent-Replayed: true`; the same key with another
 * request is 409; a retry while the first request still runs is 409 too. A failed request
 * frees its key. Must run after the guards (it needs the principal) and after any interceptor
 * that parses the body (multipart uploads).
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly keys: IdempotencyRepository,
    private readonly reflector: Reflector,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request & { principal?: AuthPrincipal }>();
    const res = http.getResponse<Response>();
    if (!carriesIdempotencyKey(req) || !req.principal) {
      return next.handle();
    }
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        'Idempotency-Key must be 1 to 255 printable ASCII characters',
      );
    }
    const userId = req.principal.userId;
    const claim = await this.keys.claim(userId, key, requestHash(req));
    switch (claim.state) {
      case 'replay':
        res.setHeader('Idempotent-Replayed', 'true');
        return of(claim.response);
      case 'mismatch':
        throw new DomainError(
          ErrorCode.Conflict,
          'This Idempotency-Key was already used with a different request',
        );
      case 'in_progress':
        throw new DomainError(
          ErrorCode.Conflict,
          'A request with this Idempotency-Key is still in progress; retry later',
        );
      case 'new':
        break;
    }
    const status =
      this.reflector.get<number>(HTTP_CODE_METADATA, context.getHandler()) ??
      (req.method === 'POST' ? HttpStatus.CREATED : HttpStatus.OK);
    return next.handle().pipe(
      mergeMap((body) => from(this.keys.complete(userId, key, status, body).then(() => body))),
      catchError((error: unknown) =>
        from(
          this.keys.release(userId, key).then(() => {
            throw error;
          }),
        ),
      ),
    );
  }
}
