import { AddressInfo } from 'node:net';
import { createServer, Server } from 'node:http';

import { JwtHeader, sign } from 'jsonwebtoken';

import { useTestApp } from 'test/e2e/create-app';
import {
  asym,
  ATTACKER_JWKS,
  attacker,
  AUDIENCE,
  b64url,
  ec,
  expectUnauthorized,
  flip,
  handMadeHs256,
  hs,
  ISSUER,
  jwk,
  JWKS,
  now,
  rsa,
} from 'test/utils/auth-tokens';

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
    const t = useTestApp('postgres', () => ({
      OMNIGENT_AUTH: 'jwt',
      OMNIGENT_JWKS_URL: `${jwksUrl}/jwks.json`,
      OMNIGENT_JWT_ISSUER: ISSUER,
      OMNIGENT_JWT_AUDIENCE: AUDIENCE,
    }));

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
    const t = useTestApp('postgres', () => ({
      OMNIGENT_AUTH: 'jwt',
      OMNIGENT_JWKS_URL: `${jwksUrl}/slow-jwks.json`,
    }));

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
