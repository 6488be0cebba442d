import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';

import helmet from 'helmet';

import { fixedHeaders } from 'src/common/http/edge.util';

function response(): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  const res = new ServerResponse(req);
  res.setHeader('X-Powered-By', 'Express');
  return { req, res };
}

describe(fixedHeaders.name, () => {
  it('should set the headers helmet sets, and remove the ones it removes', () => {
    const middleware = helmet({
      contentSecurityPolicy: { directives: { 'script-src': ["'self'"] } },
    });
    const direct = response();
    middleware(direct.req, direct.res, () => undefined);
    const replayed = response();
    const next = jest.fn();
    fixedHeaders(middleware)(replayed.req, replayed.res, next);
    expect(next).toHaveBeenCalledWith();
    expect(replayed.res.getHeaders()).toEqual(direct.res.getHeaders());
    expect(replayed.res.getHeader('x-powered-by')).toBeUndefined();
    expect(replayed.res.getHeader('content-security-policy')).toContain("script-src 'self'");
  });

  it('should refuse a middleware that fails', () => {
    const failing = (_req: unknown, _res: unknown, next: (err?: unknown) => void) =>
      next(new Error('needs a request'));
    expect(() => fixedHeaders(failing)).toThrow('needs a request');
  });
});
