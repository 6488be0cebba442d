import { IncomingMessage } from 'node:http';

import { JwtService } from '@nestjs/jwt';

import { JwtVerifierService, RUNNER_TOKEN_AUDIENCE } from 'src/common/auth/jwt-verifier.service';
import { TOKEN_CACHE_TTL_MS, TokenCache } from 'src/common/auth/token-cache.util';
import { mintToken } from 'src/common/auth/token-signer';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { AppConfig, getConfig } from 'src/config/app-config';

const SECRET = 's'.repeat(40);
const START = Date.parse('2026-12-03T10:00:00Z');

function bearer(token: string): IncomingMessage {
  return { headers: { authorization: `Bearer ${token}` } } as IncomingMessage;
}

async function rejection(promise: Promise<unknown>): Promise<ErrorCode | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as DomainError).code;
  }
}

describe(JwtVerifierService.name, () => {
  let config: AppConfig;
  let verifier: JwtVerifierService;
  let verifyRequest: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers({ now: START });
    config = getConfig({
      OMNIGENT_AUTH: 'jwt',
      OMNIGENT_JWT_SECRET: SECRET,
      OMNIGENT_JWT_CLOCK_SKEW_S: '5',
    });
    verifier = new JwtVerifierService(config, new JwtService());
    verifyRequest = jest.spyOn(verifier, 'verifyRequest');
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  describe('authenticate', () => {
    it('should verify a token once and answer the same principal from the cache', async () => {
      const { token } = mintToken(config.auth, { sub: 'alice', ttlSeconds: 3600 });
      const first = await verifier.authenticate(bearer(token));
      const second = await verifier.authenticate(bearer(token));
      expect(first).toEqual({ kind: 'user', userId: 'alice', isAdmin: false });
      expect(second).toBe(first);
      expect(verifyRequest).toHaveBeenCalledTimes(1);
    });

    it('should verify a token again once its cache entry is a minute old', async () => {
      const { token } = mintToken(config.auth, { sub: 'alice', ttlSeconds: 3600 });
      await verifier.authenticate(bearer(token));
      jest.setSystemTime(START + TOKEN_CACHE_TTL_MS);
      await verifier.authenticate(bearer(token));
      expect(verifyRequest).toHaveBeenCalledTimes(2);
    });

    it("should answer 401 once the token's exp plus the clock tolerance has passed", async () => {
      const { token } = mintToken(config.auth, { sub: 'alice', ttlSeconds: 10 });
      await verifier.authenticate(bearer(token));
      jest.setSystemTime(START + 14_000);
      await expect(verifier.authenticate(bearer(token))).resolves.toMatchObject({
        userId: 'alice',
      });
      jest.setSystemTime(START + 15_000);
      expect(await rejection(verifier.authenticate(bearer(token)))).toBe(ErrorCode.Unauthorized);
    });

    it('should answer 403 to a runner token every time, never from the cache', async () => {
      const { token } = mintToken(config.auth, {
        sub: 'alice',
        ttlSeconds: 3600,
        audience: RUNNER_TOKEN_AUDIENCE,
        extra: { typ: 'runner', runner_id: 'runner_x' },
      });
      expect(await rejection(verifier.authenticate(bearer(token)))).toBe(ErrorCode.Forbidden);
      expect(await rejection(verifier.authenticate(bearer(token)))).toBe(ErrorCode.Forbidden);
    });

    it('should not remember a token that failed verification', async () => {
      const { token } = mintToken(
        { ...config.auth, jwtSecret: 'o'.repeat(40) },
        { sub: 'alice', ttlSeconds: 3600 },
      );
      expect(await rejection(verifier.authenticate(bearer(token)))).toBe(ErrorCode.Unauthorized);
      expect(await rejection(verifier.authenticate(bearer(token)))).toBe(ErrorCode.Unauthorized);
      expect(verifyRequest).toHaveBeenCalledTimes(2);
    });
  });
});

describe(TokenCache.name, () => {
  const alice = { kind: 'user', userId: 'alice', isAdmin: false } as const;
  const now = START;
  const exp = now / 1000 + 3600;

  it('should drop the oldest entry beyond its size', () => {
    const cache = new TokenCache(2);
    cache.set('a', alice, exp, 0, now);
    cache.set('b', alice, exp, 0, now);
    cache.set('c', alice, exp, 0, now);
    expect(cache.size).toBe(2);
    expect(cache.get('a', now)).toBeUndefined();
    expect(cache.get('b', now)).toBe(alice);
    expect(cache.get('c', now)).toBe(alice);
  });

  it('should keep an entry until exp plus the tolerance when that comes before the TTL', () => {
    const cache = new TokenCache();
    cache.set('a', alice, now / 1000 + 10, 5, now);
    expect(cache.get('a', now + 14_999)).toBe(alice);
    expect(cache.get('a', now + 15_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('should not store a token that is already expired', () => {
    const cache = new TokenCache();
    cache.set('a', alice, now / 1000 - 10, 5, now);
    expect(cache.size).toBe(0);
  });
});
