import { randomFillSync } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';

import { NextFunction, Request, Response } from 'express';

/** An incoming `X-Request-Id` is kept when it is 1–64 of these characters; otherwise one is made. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Random bytes drawn at once for 256 ids (16 bytes each). */
const POOL = Buffer.alloc(4096);
let drawn = POOL.length;

/**
 * A fresh id: 16 random bytes as 32 hex, from a pool refilled by the CSPRNG every 256 ids
 * (issue 12: `randomUUID()` and stripping its dashes showed in the read paths' profile).
 */
export function newRequestId(): string {
  if (drawn === POOL.length) {
    randomFillSync(POOL);
    drawn = 0;
  }
  drawn += 16;
  return POOL.toString('hex', drawn - 16, drawn);
}

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
  const id = typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : newRequestId();
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
