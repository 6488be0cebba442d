import { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';

import { AppConfig } from 'src/config/app-config';

/** Headers browsers may read from a cross-origin answer. */
const EXPOSED_HEADERS = ['X-Request-Id', 'Retry-After', 'Idempotent-Replayed'];

/**
 * Security headers (helmet) and CORS. The CSP keeps Swagger UI at /docs working: its scripts are
 * same-origin files, its styles partly inline. No `upgrade-insecure-requests`: the server often
 * runs on plain http (loopback, or behind a TLS proxy), where it would break /docs.
 */
export function applyEdges(app: NestExpressApplication, config: AppConfig): void {
  app.use(
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
  }
}
