import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';

import { NextFunction, Request, Response } from 'express';

/** An incoming `X-Request-Id` is kept when it is 1–64 of these characters; otherwise one is made. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const DASHES = /-/g;

/**
 * The request's id: the caller's `X-Request-Id` if it is safe to echo and log, else a fresh
 * 32-hex id. Set once on `req.id` and the response header; the logger reads the same value.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const carrier = req as { id?: unknown };
  if (typeof carrier.id === 'string') {
    return carrier.id;
  }
  const incoming = req.headers['x-request-id'];
  const id =
    typeof incoming === 'string' && SAFE_ID.test(incoming)
      ? incoming
      : // 32 hex: randomUUID draws from a cached entropy pool (randomBytes per request
        // showed in the request pipeline's profile, issue 12).
        randomUUID().replace(DASHES, '');
  carrier.id = id;
  if (!res.headersSent) {
    res.setHeader('X-Request-Id', id);
  }
  return id;
}

/** Every response carries `X-Request-Id` (spec/README.md §3). Runs before everything else. */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  assignRequestId(req, res);
  next();
}
