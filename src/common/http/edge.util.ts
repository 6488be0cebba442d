import { IncomingMessage, ServerResponse } from 'node:http';

import { NestExpressApplication } from '@nestjs/platform-express';
import type { Express } from 'express';
import helmet from 'helmet';

import { AppConfig } from 'src/config/app-config';

/** Headers browsers may read from a cross-origin answer. */
const EXPOSED_HEADERS = ['X-Request-Id', 'Retry-After', 'Idempotent-Replayed'];

/**
 * Security headers (helmet) and CORS, mounted on the app; returns the middleware mounted, in
 * order (the fast front runs the same functions, issue 12). The CSP keeps Swagger UI at /docs working: its scripts are
 * same-origin files, its styles partly inline. No `upgrade-insecure-requests`: the server often
 * runs on plain http (loopback, or behind a TLS proxy), where it would break /docs.
 */
export function applyEdges(app: NestExpressApplication, config: AppConfig): Middleware[] {
  const headers = fixedHeaders(
    helmet({
      contentSecurityPolicy: {
        directives: {
          'script-src': ["'self'"],
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:'],
          'upgrade-insecure-requests': null,
        },
      },
    }),
  );
  app.use(headers);
  const origins = config.ops.corsOrigins;
  if (origins.length > 0) {
    app.enableCors({
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: [
        'Authorization',
        'Content-Type',
        'Idempotency-Key',
        'Last-Event-ID',
        'X-Request-Id',
      ],
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
    return [headers, lastMounted(app)];
  }
  return [headers];
}

/** The middleware function last mounted on the app's Express router (what Nest's `use` added). */
function lastMounted(app: NestExpressApplication): Middleware {
  const { stack } = (app.getHttpAdapter().getInstance() as Express).router;
  return stack[stack.length - 1].handle as unknown as Middleware;
}

export type Middleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

/**
 * A middleware that sets the same headers on every response (helmet's, configured without
 * per-request values such as nonces), run once and replayed: helmet walks a dozen middlewares
 * per request, which showed in the read paths' profile (issue 12).
 */
export function fixedHeaders(middleware: Middleware): Middleware {
  const set: [string, string | number | readonly string[]][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) =>
      set.push([name, value]),
    removeHeader: (name: string) => removed.push(name),
  };
  let error: unknown;
  middleware({ headers: {} } as IncomingMessage, recorder as unknown as ServerResponse, (err) => {
    error = err;
  });
  if (error) {
    throw error;
  }
  return (_req, res, next) => {
    for (const name of removed) {
      res.removeHeader(name);
    }
    for (const [name, value] of set) {
      res.setHeader(name, value);
    }
    next();
  };
}
