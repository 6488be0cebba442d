import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { NestExpressApplication } from '@nestjs/platform-express';
import { NextFunction, Request, Response } from 'express';

import { packageRoot } from 'src/config/app-config';

/** Where the console is served; its Vite build uses the same `base`. */
export const CONSOLE_PREFIX = '/ui';

/**
 * The console's CSP, stricter than the API's (edge.util.ts): same-origin scripts, styles and
 * API calls only, no inline script or style, nothing may frame it.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** The console's build output (`console/dist`, made by `npm run build`). */
export function consoleDir(): string {
  return join(packageRoot(), 'console', 'dist');
}

/**
 * Serves the web console at /ui as public static files: Express middleware, so no Nest route and
 * no guard sees these requests (spec/README.md §5 lists them as public); the API calls the page
 * makes carry the token and meet the guard as any client's do. Vite's hashed files under
 * `assets/` are immutable; `index.html` (also the answer for every other GET under /ui, the
 * SPA's routes) is revalidated on each load so a new build shows up at once.
 */
export function serveConsole(app: NestExpressApplication, dir = consoleDir()): void {
  const index = join(dir, 'index.html');
  app.use(CONSOLE_PREFIX, (_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    next();
  });
  app.useStaticAssets(dir, {
    prefix: CONSOLE_PREFIX,
    index: false,
    redirect: false,
    setHeaders: (res: Response, path: string) => {
      res.setHeader('Cache-Control', path.startsWith(join(dir, 'assets')) ? IMMUTABLE : 'no-cache');
    },
  });
  app.use(CONSOLE_PREFIX, (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    // A missing hashed file is a 404 (an old page asking for a replaced build), not the SPA.
    if (req.path.startsWith('/assets/')) {
      res.status(404).type('text/plain').send('Not found');
      return;
    }
    if (!existsSync(index)) {
      res
        .status(503)
        .type('text/plain')
        .send('The console is not built: run `npm run build` in the server checkout.');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
}
