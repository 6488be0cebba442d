import { IncomingMessage } from 'node:http';

import { NextFunction, Request, Response } from 'express';

import { findUnsafeInput } from 'src/common/validation/input-text.util';
import { jsonNestsDeeperThan } from 'src/common/validation/json-depth.util';
import { RequestValidationError } from 'src/common/validation/request-validation.error';

/**
 * The JSON parser's `verify` hook: refuses a body nested deeper than `maxDepth` before it is
 * parsed, so no parser, validator or driver ever recurses through it. Other charsets than UTF-8
 * (rare) are checked after parsing by `inputGuardMiddleware`.
 */
export function rejectDeepJson(maxDepth: number) {
  return (_req: IncomingMessage, _res: unknown, raw: Buffer, encoding: string): void => {
    const utf8 = /^utf-?8$/i.test(encoding);
    if (utf8 && jsonNestsDeeperThan(raw, maxDepth)) {
      throw new RequestValidationError([
        {
          loc: ['body'],
          msg: `JSON nested deeper than ${maxDepth} levels`,
          type: 'json_invalid',
          input: null,
        },
      ]);
    }
  };
}

/**
 * Runs after the body parser, before routing: a NUL or an unpaired surrogate anywhere in a JSON
 * body or the query string (values and keys), or a body nested too deeply, is a 422 naming the
 * field, on every route alike (docs/SECURITY.md, "Input limits"). Path segments are left to the
 * id pipes, which answer 404 for anything malformed.
 */
export function inputGuardMiddleware(maxDepth: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const unsafe = [
      ...(req.body === undefined ? [] : findUnsafeInput(req.body, ['body'], maxDepth)),
      ...findUnsafeInput(req.query, ['query'], maxDepth),
    ];
    next(unsafe.length > 0 ? new RequestValidationError(unsafe) : undefined);
  };
}
