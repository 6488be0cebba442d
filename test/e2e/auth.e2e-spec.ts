import { createHmac, generateKeyPairSync, KeyObject } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { createServer, Server } from 'node:http';

import { JwtHeader, sign, SignOptions } from 'jsonwebtoken';
import { Response } from 'supertest';

import { createTestApp, TestApp } from 'test/e2e/create-app';

const SECRET = 'auth-e2e-secret-0123456789abcdef0123456789';
const ISSUER = 'https://idp.example';
const AUDIENCE = 'omnigent-e2e';
const UNAUTHORIZED_BODY = {
  code: 'unauthorized',
  message: 'Authentication required',
  error: { code: 'unauthorized', message: 'Authentication required' },
};

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });

function jwk(key: KeyObject, kid: string, alg: string): Record<string, unknown> {
  return { ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

const JWKS = { keys: [jwk(rsa.publicKey, 'rsa-1', 'RS256'), jwk(ec.publicKey, 'ec-1', 'ES256')] };
const ATTACKER_JWKS = { keys: [jwk(attacker.publicKey, 'attacker', 'RS256')] };

const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Drops undefined claims: jsonwebtoken refuses `exp: undefined` instead of omitting it. */
const defined = (claims: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));

/** HS256 with the server's secret; `exp` 5 minutes out unless the claims say otherwise. */
function hs(claims: Record<string, unknown> = {}, options: SignOptions = {}): string {
  return sign(defined({ sub: 'alice', exp: now() + 300, ...claims }), SECRET, {
    algorithm: 'HS256',
    ...options,
  });
}

/** RS256/ES256 with a JWKS key, issuer and audience of the JWKS app. */
function asym(
  alg: 'RS256' | 'ES256',
  claims: Record<string, unknown> = {},
  options: SignOptions = {},
): string {
  return sign(
    defined({ sub: 'bob', exp: now() + 300, iss: ISSUER, aud: AUDIENCE, ...claims }),
    alg === 'RS256' ? rsa.privateKey : ec.privateKey,
    { algorithm: alg, keyid: alg === 'RS256' ? 'rsa-1' : 'ec-1', ...options },
  );
}

/** A token built by hand, the way an attacker would: any header, HMAC over it with any secret. */
function handMadeHs256(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: string,
) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** Replaces one character in the middle of a segment, so the decoded bytes really change. */
function flip(token: string, segment: number): string {
  const parts = token.split('.');
  const s = parts[segment];
  const i = Math.floor(s.length / 2);
  parts[segment] = `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
  return parts.join('.');
}

function expectUnauthorized(res: Response): void {
  expect(res.status).toBe(401);
  expect(res.body).toEqual(UNAUTHORIZED_BODY);
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
}

describe('auth (jwt mode, HS256 secret)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp('postgres', {
      OMNIGENT_AUTH: 'jwt',
      OMNIGENT_JWT_SECRET: SECRET,
      OMNIGENT_ADMINS: 'root@example.com',
    });
  });
  afterAll(() => t?.close());

  const me = (authorization?: string) => {
    const req = t.http.get('/v1/me');
    return authorization === undefined ? req : req.set('Authorization', authorization);
  };

  it('should answer 401 with the error body and a Bearer challenge without a header', async () => {
    const res = await me();
    expectUnauthorized(res);
    expect(Object.keys(res.body).sort()).toEqual(['code', 'error', 'message']);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('should accept a valid HS256 token', async () => {
    const res = await me(`Bearer ${hs()}`).expect(200);
    expect(res.body).toEqual({ user_id: 'alice', is_admin: false });
  });

  it('should accept exp within the clock tolerance', async () => {
    const res = await me(`Bearer ${hs({ exp: now() - 10 })}`).expect(200);
    expect(res.body.user_id).toBe('alice');
  });

  it('should make a user admin through the roles claim', async () => {
    const res = await me(`Bearer ${hs({ sub: 'carol', roles: ['user', 'admin'] })}`).expect(200);
    expect(res.body).toEqual({ user_id: 'carol', is_admin: true });
  });

  it('should make a user admin through the configured admins list', async () => {
    const res = await me(`Bearer ${hs({ sub: 'root@example.com' })}`).expect(200);
    expect(res.body).toEqual({ user_id: 'root@example.com', is_admin: true });
  });

  it('should not make a user admin through other claims or headers', async () => {
    const token = hs({ sub: 'dave', is_admin: true, admin: true, roles: ['administrator'] });
    const res = await me(`Bearer ${token}`).set('X-Admin', 'true').expect(200);
    expect(res.body).toEqual({ user_id: 'dave', is_admin: false });
  });

  it('should refuse a runner token on /v1/me with 403', async () => {
    const runner = hs({ typ: 'runner', runner_id: 'runner_abc', aud: 'omnigent-runner' });
    const res = await me(`Bearer ${runner}`).expect(403);
    expect(res.body).toEqual({
      code: 'forbidden',
      message: expect.any(String),
      error: { code: 'forbidden', message: res.body.message },
    });
  });

  const valid = hs();
  const header = valid.split('.')[0];
  const payload = valid.split('.')[1];
  const signature = valid.split('.')[2];
  const noneHeader = b64url({ alg: 'none', typ: 'JWT' });
  const claims = { sub: 'alice', exp: now() + 300 };

  it.each<[string, string]>([
    ['an empty Bearer token', 'Bearer '],
    ['the Bearer scheme alone', 'Bearer'],
    ['the Basic scheme', `Basic ${Buffer.from('alice:secret').toString('base64')}`],
    ['a valid token under the Basic scheme', `Basic ${valid}`],
    ['a valid token under the Token scheme', `Token ${valid}`],
    ['a token without a scheme', valid],
    ['an expired token', `Bearer ${hs({ exp: now() - 120 })}`],
    ['a token whose nbf is in the future', `Bearer ${hs({ nbf: now() + 120 })}`],
    ['a token without exp', `Bearer ${sign({ sub: 'alice' }, SECRET, { algorithm: 'HS256' })}`],
    ['a flipped signature byte', `Bearer ${flip(valid, 2)}`],
    ['a flipped payload byte', `Bearer ${flip(valid, 1)}`],
    [
      'a payload swapped under the original signature',
      `Bearer ${header}.${b64url({ sub: 'mallory', exp: now() + 300 })}.${signature}`,
    ],
    [
      'a token signed with another secret',
      `Bearer ${sign(claims, `${SECRET}-other`, { algorithm: 'HS256' })}`,
    ],
    ['garbage', 'Bearer not-a-jwt'],
    ['garbage base64', 'Bearer !!!.@@@.###'],
    ['a two-part token', `Bearer ${header}.${payload}`],
    ['a truncated token', `Bearer ${valid.slice(0, -8)}`],
    ['a four-part token', `Bearer ${valid}.${signature}`],
    ['alg none with a trailing dot', `Bearer ${noneHeader}.${b64url(claims)}.`],
    ['alg none without a trailing dot', `Bearer ${noneHeader}.${b64url(claims)}`],
    ['alg None', `Bearer ${b64url({ alg: 'None' })}.${b64url(claims)}.`],
    ['alg none with the original signature', `Bearer ${noneHeader}.${payload}.${signature}`],
    ['an RS256 token', `Bearer ${sign(claims, rsa.privateKey, { algorithm: 'RS256' })}`],
    ['an ES256 token', `Bearer ${sign(claims, ec.privateKey, { algorithm: 'ES256' })}`],
    ['an HS384 token with the right secret', `Bearer ${hs({}, { algorithm: 'HS384' })}`],
    ['a token without sub', `Bearer ${hs({ sub: undefined })}`],
    ['an empty sub', `Bearer ${hs({ sub: '' })}`],
    ['a numeric sub', `Bearer ${hs({ sub: 42 })}`],
    ['the reserved sub local', `Bearer ${hs({ sub: 'local' })}`],
    ['the reserved sub __public__', `Bearer ${hs({ sub: '__public__' })}`],
    ['a sub with a control character', `Bearer ${hs({ sub: 'ali\u0001ce' })}`],
    ['a sub with a newline', `Bearer ${hs({ sub: 'alice\nadmin' })}`],
    ['a sub over 256 characters', `Bearer ${hs({ sub: 'a'.repeat(257) })}`],
    ['a runner token without runner_id', `Bearer ${hs({ typ: 'runner' })}`],
    ['a validly signed token over 8 KiB', `Bearer ${hs({ pad: 'x'.repeat(9 * 1024) })}`],
  ])('should answer 401 for %s', async (_name, authorization) => {
    expectUnauthorized(await me(authorization));
  });

  it('should keep the public routes open without a token', async () => {
    await t.http.get('/api/version').expect(200);
    const info = await t.http.get('/v1/info').expect(200);
    expect(info.body.single_user).toBe(false);
    await t.http.get('/openapi.json').expect(200);
    await t.http
      .get('/docs')
      .expect(200)
      .expect('Content-Type', /text\/html/);
  });

  it('should keep the public routes open with a bad token', async () => {
    await t.http.get('/api/version').set('Authorization', 'Bearer garbage').expect(200);
    await t.http
      .get('/v1/info')
      .set('Authorization', `Bearer ${flip(valid, 2)}`)
      .expect(200);
  });

  it('should ignore the Origin and Host checks of local mode', async () => {
    const res = await me(`Bearer ${hs()}`)
      .set('Origin', 'https://app.example')
      .set('Host', 'omnigent.example')
      .expect(200);
    expect(res.body.user_id).toBe('alice');
  });
});

describe('auth (jwt mode, JWKS)', () => {
  let jwksServer: Server;
  let jwksUrl: string;
  const hits: Record<string, number> = {};

  beforeAll(async () => {
    jwksServer = createServer((req, res) => {
      const path = req.url ?? '';
      hits[path] = (hits[path] ?? 0) + 1;
      const body = path.endsWith('jwks.json')
        ? JWKS
        : path === '/attacker.json'
          ? ATTACKER_JWKS
          : null;
      // The slow JWKS keeps the first key fetch in flight while concurrent requests arrive.
      setTimeout(
        () => {
          res.writeHead(body ? 200 : 404, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(body ?? {}));
        },
        path === '/slow-jwks.json' ? 300 : 0,
      );
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    jwksUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(() => new Promise((resolve) => jwksServer?.close(resolve)));

  describe('with issuer and audience', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await createTestApp('postgres', {
        OMNIGENT_AUTH: 'jwt',
        OMNIGENT_JWKS_URL: `${jwksUrl}/jwks.json`,
        OMNIGENT_JWT_ISSUER: ISSUER,
        OMNIGENT_JWT_AUDIENCE: AUDIENCE,
      });
    });
    afterAll(() => t?.close());

    const me = (authorization: string) => t.http.get('/v1/me').set('Authorization', authorization);

    it('should accept a valid RS256 token', async () => {
      const res = await me(`Bearer ${asym('RS256')}`).expect(200);
      expect(res.body).toEqual({ user_id: 'bob', is_admin: false });
    });

    it('should accept a valid ES256 token', async () => {
      const res = await me(`Bearer ${asym('ES256', { sub: 'erin', roles: ['admin'] })}`).expect(
        200,
      );
      expect(res.body).toEqual({ user_id: 'erin', is_admin: true });
    });

    it('should accept an audience list that contains the audience', async () => {
      await me(`Bearer ${asym('RS256', { aud: ['other', AUDIENCE] })}`).expect(200);
    });

    it('should answer 401 without a header', async () => {
      expectUnauthorized(await t.http.get('/v1/me'));
    });

    const rsaPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const good = { sub: 'bob', exp: now() + 300, iss: ISSUER, aud: AUDIENCE };

    it.each<[string, () => string]>([
      [
        'HS256 signed with the RSA public key PEM as the secret',
        () => handMadeHs256({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' }, good, rsaPem),
      ],
      [
        'HS256 signed with the RSA public JWK as the secret',
        () =>
          handMadeHs256(
            { alg: 'HS256', typ: 'JWT', kid: 'rsa-1' },
            good,
            JSON.stringify(JWKS.keys[0]),
          ),
      ],
      [
        'alg none with the kid of a real key',
        () => `${b64url({ alg: 'none', kid: 'rsa-1' })}.${b64url(good)}.`,
      ],
      ['an expired token', () => asym('RS256', { exp: now() - 120 })],
      ['a token whose nbf is in the future', () => asym('ES256', { nbf: now() + 120 })],
      ['a token without exp', () => asym('RS256', { exp: undefined })],
      ['a flipped signature byte', () => flip(asym('RS256'), 2)],
      ['a flipped ES256 signature byte', () => flip(asym('ES256'), 2)],
      [
        'a token signed by another key under a known kid',
        () => sign(good, attacker.privateKey, { algorithm: 'RS256', keyid: 'rsa-1' }),
      ],
      [
        'an ES256 token under the kid of the RSA key',
        () => sign(good, ec.privateKey, { algorithm: 'ES256', keyid: 'rsa-1' }),
      ],
      ['an unknown kid', () => asym('RS256', {}, { keyid: 'nope' })],
      [
        'no kid while the JWKS has several keys',
        () => sign(good, rsa.privateKey, { algorithm: 'RS256' }),
      ],
      [
        'an embedded jwk header with the attacker key',
        () =>
          sign(good, attacker.privateKey, {
            algorithm: 'RS256',
            header: {
              alg: 'RS256',
              jwk: jwk(attacker.publicKey, 'attacker', 'RS256'),
            } as JwtHeader,
          }),
      ],
      [
        'a jku header pointing at an attacker JWKS',
        () =>
          sign(good, attacker.privateKey, {
            algorithm: 'RS256',
            keyid: 'attacker',
            header: { alg: 'RS256', jku: `${jwksUrl}/attacker.json` },
          }),
      ],
      [
        'an x5u header pointing at an attacker',
        () =>
          sign(good, attacker.privateKey, {
            algorithm: 'RS256',
            keyid: 'attacker',
            header: { alg: 'RS256', x5u: `${jwksUrl}/attacker.json` },
          }),
      ],
      ['a wrong issuer', () => asym('RS256', { iss: 'https://evil.example' })],
      ['a missing issuer', () => asym('RS256', { iss: undefined })],
      ['a wrong audience', () => asym('RS256', { aud: 'someone-else' })],
      ['a missing audience', () => asym('ES256', { aud: undefined })],
      ['the reserved sub local', () => asym('RS256', { sub: 'local' })],
      ['a missing sub', () => asym('ES256', { sub: undefined })],
      ['an HS256 token signed with some secret', () => hs({ iss: ISSUER, aud: AUDIENCE })],
    ])('should answer 401 for %s', async (_name, token) => {
      expectUnauthorized(await me(`Bearer ${token()}`));
    });

    it('should never fetch a key from a URL named in the token', () => {
      expect(hits['/attacker.json']).toBeUndefined();
    });

    it('should rate-limit JWKS reloads on unknown kids', async () => {
      await me(`Bearer ${asym('RS256')}`).expect(200);
      const before = hits['/jwks.json'] ?? 0;
      for (let i = 0; i < 5; i++) {
        expectUnauthorized(await me(`Bearer ${asym('RS256', {}, { keyid: `forged-${i}` })}`));
      }
      expect((hits['/jwks.json'] ?? 0) - before).toBeLessThanOrEqual(1);
    });
  });

  describe('on a cold key cache', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await createTestApp('postgres', {
        OMNIGENT_AUTH: 'jwt',
        OMNIGENT_JWKS_URL: `${jwksUrl}/slow-jwks.json`,
      });
    });
    afterAll(() => t?.close());

    // Regression: passport once got shared Strategy instances, so while a JWKS fetch was in flight
    // every result went to the last request's callback (one caller answered as another user).
    it('should authenticate concurrent first requests as their own users', async () => {
      const subs = ['user-1', 'user-2', 'user-3', 'user-4'];
      const results = await Promise.allSettled(
        subs.map((sub) =>
          t.http
            .get('/v1/me')
            .timeout(3000)
            .set(
              'Authorization',
              `Bearer ${sign({ sub, exp: now() + 300 }, rsa.privateKey, {
                algorithm: 'RS256',
                keyid: 'rsa-1',
              })}`,
            ),
        ),
      );
      expect(
        results.map((r) => (r.status === 'fulfilled' ? r.value.body : String(r.reason))),
      ).toEqual(subs.map((sub) => ({ user_id: sub, is_admin: false })));
    });
  });
});

describe('auth (none mode)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp('postgres');
  });
  afterAll(() => t?.close());

  it('should treat every request as the local admin', async () => {
    const res = await t.http.get('/v1/me').expect(200);
    expect(res.body).toEqual({ user_id: 'local', is_admin: true });
  });

  it('should ignore a forged Authorization header', async () => {
    for (const authorization of [
      `Bearer ${hs({ sub: 'mallory' })}`,
      `Bearer ${hs({ sub: 'mallory' }, { algorithm: 'HS384' })}`,
      'Bearer garbage',
      'Basic bWFsbG9yeTpwdw==',
    ]) {
      const res = await t.http.get('/v1/me').set('Authorization', authorization).expect(200);
      expect(res.body).toEqual({ user_id: 'local', is_admin: true });
    }
  });

  it.each([
    'https://evil.example',
    'http://localhost.evil.example',
    'http://127.0.0.1.nip.io',
    'null',
    'file://',
  ])('should refuse the cross-site Origin %p with 403', async (origin) => {
    const res = await t.http.get('/v1/me').set('Origin', origin).expect(403);
    expect(res.body).toEqual({
      code: 'forbidden',
      message: expect.any(String),
      error: { code: 'forbidden', message: res.body.message },
    });
  });

  it.each([
    'omnigent://internal',
    'http://localhost:3000',
    'http://127.0.0.1:5173',
    'http://[::1]:8080',
  ])('should accept the Origin %p', async (origin) => {
    const res = await t.http.get('/v1/me').set('Origin', origin).expect(200);
    expect(res.body.user_id).toBe('local');
  });

  it('should refuse a foreign Host header with 403 (DNS rebinding)', async () => {
    const res = await t.http.get('/v1/me').set('Host', 'evil.example').expect(403);
    expect(res.body.code).toBe('forbidden');
    await t.http.get('/v1/me').set('Host', 'evil.example:6767').expect(403);
    await t.http.get('/v1/me').set('Host', 'localhost.evil.example').expect(403);
  });

  it.each(['localhost:6767', '127.0.0.1', '[::1]:6767', 'LOCALHOST'])(
    'should accept the loopback Host %p',
    async (host) => {
      await t.http.get('/v1/me').set('Host', host).expect(200);
    },
  );
});
