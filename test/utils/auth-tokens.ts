import { createHmac, generateKeyPairSync, KeyObject } from 'node:crypto';

import { sign, SignOptions } from 'jsonwebtoken';
import { Response } from 'supertest';

// Keys, tokens and the 401 check shared by the auth e2e specs (test/e2e/auth*.e2e-spec.ts).

export const SECRET = 'auth-e2e-secret-0123456789abcdef0123456789';
export const ISSUER = 'https://idp.example';
export const AUDIENCE = 'omnigent-e2e';
const UNAUTHORIZED_BODY = {
  code: 'unauthorized',
  message: 'Authentication required',
  error: { code: 'unauthorized', message: 'Authentication required' },
};

export const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });

export function jwk(key: KeyObject, kid: string, alg: string): Record<string, unknown> {
  return { ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

export const JWKS = {
  keys: [jwk(rsa.publicKey, 'rsa-1', 'RS256'), jwk(ec.publicKey, 'ec-1', 'ES256')],
};
export const ATTACKER_JWKS = { keys: [jwk(attacker.publicKey, 'attacker', 'RS256')] };

export const now = () => Math.floor(Date.now() / 1000);
export const b64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Drops undefined claims: jsonwebtoken refuses `exp: undefined` instead of omitting it. */
const defined = (claims: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));

/** HS256 with the server's secret; `exp` 5 minutes out unless the claims say otherwise. */
export function hs(claims: Record<string, unknown> = {}, options: SignOptions = {}): string {
  return sign(defined({ sub: 'alice', exp: now() + 300, ...claims }), SECRET, {
    algorithm: 'HS256',
    ...options,
  });
}

/** RS256/ES256 with a JWKS key, issuer and audience of the JWKS app. */
export function asym(
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
export function handMadeHs256(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: string,
) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** Replaces one character in the middle of a segment, so the decoded bytes really change. */
export function flip(token: string, segment: number): string {
  const parts = token.split('.');
  const s = parts[segment];
  const i = Math.floor(s.length / 2);
  parts[segment] = `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
  return parts.join('.');
}

export function expectUnauthorized(res: Response): void {
  expect(res.status).toBe(401);
  expect(res.body).toEqual(UNAUTHORIZED_BODY);
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
}
