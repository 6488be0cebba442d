import { Request, Response } from 'express';

import { inputGuardMiddleware, rejectDeepJson } from 'src/common/http/input-guard.middleware';
import { RequestValidationError } from 'src/common/validation/request-validation.error';

const nested = (levels: number) => Buffer.from('['.repeat(levels) + ']'.repeat(levels));

describe('input-guard.middleware', () => {
  describe(rejectDeepJson.name, () => {
    it('should refuse UTF-8 JSON deeper than the configured depth, before parsing', () => {
      const verify = rejectDeepJson(8);
      expect(() => verify({} as never, {}, nested(8), 'utf-8')).not.toThrow();
      expect(() => verify({} as never, {}, nested(9), 'utf-8')).toThrow(RequestValidationError);
      try {
        verify({} as never, {}, nested(9), 'UTF8');
      } catch (error) {
        expect((error as RequestValidationError).detail).toEqual([
          {
            loc: ['body'],
            msg: 'JSON nested deeper than 8 levels',
            type: 'json_invalid',
            input: null,
          },
        ]);
      }
    });

    it('should leave other charsets to the check after parsing', () => {
      expect(() => rejectDeepJson(8)({} as never, {}, nested(20), 'utf-16le')).not.toThrow();
    });
  });

  describe(inputGuardMiddleware.name, () => {
    const run = (req: Partial<Request>, depth = 64) => {
      const next = jest.fn();
      inputGuardMiddleware(depth)(req as Request, {} as Response, next);
      expect(next).toHaveBeenCalledTimes(1);
      return next.mock.calls[0][0] as RequestValidationError | undefined;
    };

    it('should pass clean requests on', () => {
      expect(run({ body: { title: 'ok 👍' }, query: { limit: '5' } })).toBeUndefined();
      expect(run({ body: undefined, query: {} })).toBeUndefined();
    });

    it('should name the body field and the query parameter at fault', () => {
      const error = run({ body: { title: 'a\u0000' }, query: { after: '\ud800' } });
      expect(error).toBeInstanceOf(RequestValidationError);
      expect(error?.detail.map((d) => d.loc)).toEqual([
        ['body', 'title'],
        ['query', 'after'],
      ]);
    });

    it('should apply the configured depth to parsed bodies', () => {
      const deep = JSON.parse(`${'{"a":'.repeat(9)}1${'}'.repeat(9)}`) as unknown;
      expect(run({ body: deep, query: {} }, 9)).toBeUndefined();
      expect(run({ body: deep, query: {} }, 8)?.detail[0].type).toBe('json_invalid');
    });
  });
});
