import http from 'node:http';

import { useTestApp } from 'test/e2e/create-app';
import {
  clientFor,
  expectErrorBody,
  JWT_ENV,
  randomSessionId,
  uniqueUser,
} from 'test/utils/e2e-client';

const ORIGIN = 'https://console.example.com';

describe('CORS and security headers', () => {
  const t = useTestApp('postgres', { OMNIGENT_CORS_ORIGINS: `${ORIGIN}, https://b.example` });
  const plain = useTestApp('postgres');

  it('should answer a preflight from an allowed origin', async () => {
    const res = await t.http
      .options('/v1/sessions')
      .set('Origin', ORIGIN)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type,idempotency-key')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['access-control-allow-headers'].toLowerCase()).toContain('idempotency-key');
    const get = await t.http.get('/v1/info').set('Origin', ORIGIN).expect(200);
    expect(get.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(get.headers['access-control-expose-headers']).toContain('X-Request-Id');
  });

  it('should not allow other origins, nor any origin by default', async () => {
    const other = await t.http
      .options('/v1/sessions')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const none = await plain.http
      .options('/v1/sessions')
      .set('Origin', ORIGIN)
      .set('Access-Control-Request-Method', 'POST');
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('should send helmet headers with a CSP that keeps /docs working', async () => {
    const res = await plain.http.get('/v1/info').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['x-powered-by']).toBeUndefined();
    const docs = await plain.http.get('/docs').expect(200);
    const csp = docs.headers['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    // Every script of the UI is a same-origin file, and none is inline.
    const scripts = [...docs.text.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const attrs of scripts) {
      const src = /src="([^"]+)"/.exec(attrs)?.[1];
      expect(src).toMatch(/^\.\//);
      await plain.http.get(`/${(src as string).replace(/^\.\//, '')}`).expect(200);
    }
  });
});

describe('per-user rate limits', () => {
  const LIMIT = 3;

  const t = useTestApp(
    'postgres',
    {
      ...JWT_ENV,
      OMNIGENT_RATE_LIMIT_PER_MINUTE: String(LIMIT),
    },
    { listen: true },
  );

  it('should answer 429 with Retry-After and the error body past the limit, per user', async () => {
    const alice = clientFor(t, uniqueUser('alice'));
    const bob = clientFor(t, uniqueUser('bob'));
    for (let i = 0; i < LIMIT; i++) {
      await alice.get('/v1/me').expect(200);
    }
    const limited = await alice.get('/v1/me');
    expectErrorBody(limited, 429, 'rate_limited', /at most 3 per minute/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Another user has a bucket of their own.
    await bob.get('/v1/me').expect(200);

    // Streams and runner routes are counted apart: alice can still open streams (up to the
    // limit of their own bucket) and reach the runner routes.
    const openStream = () =>
      new Promise<number>((resolve, reject) => {
        const req = http
          .get(
            `${t.url}/v1/sessions/${randomSessionId()}/stream`,
            { headers: { ...alice.headers, Accept: 'text/event-stream' } },
            (res) => {
              resolve(res.statusCode ?? 0);
              req.destroy();
            },
          )
          .on('error', reject);
      });
    for (let i = 0; i < LIMIT; i++) {
      expect(await openStream()).not.toBe(429);
    }
    expect(await openStream()).toBe(429);
    await alice.get('/v1/runners').expect(200);
  });

  it('should count an anonymous caller of a public route by address', async () => {
    for (let i = 0; i < LIMIT; i++) {
      await t.http.get('/v1/info').expect(200);
    }
    expectErrorBody(await t.http.get('/v1/info'), 429, 'rate_limited');
    // Probes are never limited.
    for (let i = 0; i < LIMIT + 2; i++) {
      await t.http.get('/health').expect(200);
    }
  });
});
