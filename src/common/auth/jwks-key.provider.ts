import { KeyObject } from 'node:crypto';

import type { JWTHeaderParameters } from 'jose';

const CACHE_MAX_AGE_MS = 10 * 60_000;
/** An unknown `kid` reloads the JWKS at most this often, so forged kids cannot hammer the IdP. */
const UNKNOWN_KID_COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;

type KeyCallback = (err: unknown, key?: string) => void;

/**
 * passport-jwt's `secretOrKeyProvider` over an identity provider's JWKS, with jose's remote key
 * set doing the fetching, caching, cooldown and de-duplication of concurrent reloads. The key is
 * chosen by the token's `kid` and algorithm family only; URLs in the token (`jku`, `x5u`) are
 * never followed. Fails closed: no key, no token.
 */
export function jwksKeyProvider(url: string) {
  const parsed = new URL(url);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !loopback) {
    throw new Error('OMNIGENT_JWKS_URL must use https (http is allowed only on loopback)');
  }
  // jose loads only when a JWKS is configured (~40 ms of a warm start otherwise; issue 12).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createRemoteJWKSet, decodeProtectedHeader } = require('jose') as typeof import('jose');
  const jwks = createRemoteJWKSet(parsed, {
    cacheMaxAge: CACHE_MAX_AGE_MS,
    cooldownDuration: UNKNOWN_KID_COOLDOWN_MS,
    timeoutDuration: FETCH_TIMEOUT_MS,
  });
  const pick = async (header: JWTHeaderParameters): Promise<string> => {
    const key = await jwks(header);
    // Without a kid, jose would take the one key of the token's family; we accept a kid-less
    // token only when the key set holds a single key, so it can never pick among several.
    if (!header.kid && (jwks.jwks()?.keys.length ?? 0) > 1) {
      throw new Error('token has no kid and the JWKS has several keys');
    }
    return KeyObject.from(key as Parameters<typeof KeyObject.from>[0])
      .export({ format: 'pem', type: 'spki' })
      .toString();
  };
  return (_req: unknown, raw: string, done: KeyCallback): void => {
    let header: JWTHeaderParameters;
    try {
      header = decodeProtectedHeader(raw) as JWTHeaderParameters;
    } catch {
      done(new Error('token header cannot be decoded'));
      return;
    }
    pick(header).then(
      (pem) => done(null, pem),
      (err: unknown) => done(err),
    );
  };
}
