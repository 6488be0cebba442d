import { randomBytes } from 'node:crypto';

import { NextFunction, Request, Response } from 'express';

const SANE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export interface RequestWithId {
  id?: string;
}

/** Every response carries `X-Request-Id`: the caller's if it looks sane, else a fresh 32-hex id. */
export function requestIdMiddleware(
  req: Request & RequestWithId,
  res: Response,
  next: NextFunction,
): void {
  const incoming = req.headers['x-request-id'];
  const id =
    typeof incoming === 'string' && SANE_ID.test(incoming)
      ? incoming
      : randomBytes(16).toString('hex');
  req.id = id;
  res.setHeader('X-Request-Id', id);
  next();
}
