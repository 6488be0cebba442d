import { Logger } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';

import { RequestWithId } from 'src/common/http/request-id.middleware';

const logger = new Logger('HTTP');

/** One line per request when it finishes: 500s as errors, other 5xx as warnings, the rest at debug level. */
export function requestLoggerMiddleware(
  req: Request & RequestWithId,
  res: Response,
  next: NextFunction,
): void {
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const line = `${req.method} ${req.originalUrl} ${res.statusCode} ${ms.toFixed(1)}ms id=${req.id ?? '-'}`;
    if (res.statusCode === 500) {
      logger.error(line);
    } else if (res.statusCode >= 500) {
      logger.warn(line);
    } else {
      logger.debug(line);
    }
  });
  next();
}
