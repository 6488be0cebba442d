import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/**
 * The `{path}` of `GET /v1/hosts/{id}/filesystem/{path}`: Express hands the wildcard over as
 * decoded segments; the leading `/` is re-added unless the path is `~`-prefixed
 * (spec/api-reference.md §6). A param decorator, so no global pipe turns the segments into
 * a comma-joined string first.
 */
export const HostPath = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => {
  const value = ctx.switchToHttp().getRequest<Request>().params.path as
    string | string[] | undefined;
  const joined = Array.isArray(value) ? value.join('/') : (value ?? '');
  return joined.startsWith('~') ? joined : `/${joined}`;
});
