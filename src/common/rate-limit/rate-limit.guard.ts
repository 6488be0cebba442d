import { ExecutionContext, Injectable } from '@nestjs/common';
import { SSE_METADATA } from '@nestjs/common/constants';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import type { Request, Response } from 'express';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';

const PROBES = ['/health', '/ready', '/metrics'];

/** Which bucket a request counts against: streams and runner routes apart from the API. */
export type RateBucket = 'api' | 'streams' | 'runners';

export function rateBucket(context: ExecutionContext): RateBucket {
  if (Reflect.getMetadata(SSE_METADATA, context.getHandler())) {
    return 'streams';
  }
  const path = context.switchToHttp().getRequest<Request>().path;
  return path.startsWith('/v1/runners') ? 'runners' : 'api';
}

/**
 * Per-user rate limits (OMNIGENT_RATE_LIMIT_PER_MINUTE). Must run after AuthGuard: the caller's
 * user id is the key; an unauthenticated public route falls back to the client address. Over
 * the limit: 429 `rate_limited` with `Retry-After` in seconds.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  /** Probes (load balancers, Prometheus) are never limited. */
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    const path = context.switchToHttp().getRequest<Request>().path;
    return Promise.resolve(PROBES.includes(path));
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const principal = req.principal as AuthPrincipal | undefined;
    return Promise.resolve(
      principal ? `user:${principal.userId}` : `ip:${String((req as { ip?: string }).ip)}`,
    );
  }

  protected override throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const res = context.switchToHttp().getResponse<Response>();
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil(detail.timeToBlockExpire))));
    throw new DomainError(
      ErrorCode.RateLimited,
      `Too many requests: at most ${detail.limit} per minute; retry in ${Math.max(1, Math.ceil(detail.timeToBlockExpire))} s`,
    );
  }
}
