import { decode, JwtPayload, verify } from 'jsonwebtoken';

import { mintToken, parseTtl } from 'src/common/auth/token-signer';
import { AppConfig, getConfig } from 'src/config/app-config';

const SECRET = 'token-signer-spec-secret-0123456789abcdef';

const ISSUER = 'https://omnigent.example';
const AUDIENCE = 'omnigent';

// Issuer and audience are configured by default here; one test mints without them.
function authConfig(env: Record<string, string> = {}): AppConfig['auth'] {
  return getConfig({
    OMNIGENT_AUTH: 'jwt',
    OMNIGENT_JWT_SECRET: SECRET,
    OMNIGENT_JWT_ISSUER: ISSUER,
    OMNIGENT_JWT_AUDIENCE: AUDIENCE,
    ...env,
  }).auth;
}

describe(parseTtl.name, () => {
  it.each([
    ['30s', 30],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604800],
    ['90', 90],
    [' 2h ', 7200],
  ])('should parse %p as %p seconds', (value, seconds) => {
    expect(parseTtl(value)).toBe(seconds);
  });

  it.each(['', 'abc', '1w', '1.5h', '-1', '-5m', '1 h', 'h', '10ms', '0', '0s'])(
    'should throw on %p',
    (value) => {
      expect(() => parseTtl(value)).toThrow();
    },
  );
});

describe(mintToken.name, () => {
  it('should mint an HS256 token that verifies with the secret', () => {
    const before = Math.floor(Date.now() / 1000);
    const { token, expiresAt } = mintToken(authConfig(), { sub: 'alice', ttlSeconds: 600 });
    const claims = verify(token, SECRET, { algorithms: ['HS256'] }) as JwtPayload;
    expect(claims.sub).toBe('alice');
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp).toBe((claims.iat as number) + 600);
    expect(expiresAt).toBe(claims.exp);
    expect(decode(token, { complete: true })?.header).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('should not verify with another secret', () => {
    const { token } = mintToken(authConfig(), { sub: 'alice', ttlSeconds: 60 });
    expect(() => verify(token, `${SECRET}-other`, { algorithms: ['HS256'] })).toThrow();
  });

  it('should add no admin claim unless asked', () => {
    const { token } = mintToken(authConfig(), { sub: 'alice', ttlSeconds: 60 });
    const claims = verify(token, SECRET) as JwtPayload;
    expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'sub']);
  });

  // Regression: jsonwebtoken rejects issuer/audience options that are present but undefined.
  it('should mint without issuer or audience when none is configured', () => {
    const auth = getConfig({ OMNIGENT_AUTH: 'jwt', OMNIGENT_JWT_SECRET: SECRET }).auth;
    const { token } = mintToken(auth, { sub: 'alice', ttlSeconds: 60 });
    const claims = verify(token, SECRET) as JwtPayload;
    expect(Object.keys(claims).sort()).toEqual(['exp', 'iat', 'sub']);
  });

  it('should set the admin value under the configured claim', () => {
    const { token } = mintToken(authConfig(), { sub: 'root', ttlSeconds: 60, admin: true });
    expect((verify(token, SECRET) as JwtPayload).roles).toEqual(['admin']);
  });

  it('should set a dotted admin claim path as nested objects', () => {
    const auth = authConfig({
      OMNIGENT_ADMIN_CLAIM: 'realm_access.roles',
      OMNIGENT_ADMIN_VALUE: 'omnigent-admin',
    });
    const { token } = mintToken(auth, {
      sub: 'root',
      ttlSeconds: 60,
      admin: true,
      extra: { realm_access: { other: 1 } },
    });
    const claims = verify(token, SECRET) as JwtPayload;
    expect(claims.realm_access).toEqual({ other: 1, roles: ['omnigent-admin'] });
    expect(claims.roles).toBeUndefined();
  });

  it('should set the configured issuer and audience', () => {
    const { token } = mintToken(authConfig(), { sub: 'alice', ttlSeconds: 60 });
    const claims = verify(token, SECRET, { issuer: ISSUER, audience: AUDIENCE }) as JwtPayload;
    expect(claims).toMatchObject({ iss: ISSUER, aud: AUDIENCE });
    expect(() => verify(token, SECRET, { issuer: 'https://other.example' })).toThrow();
  });

  it('should let a per-token audience override the configured one', () => {
    const { token } = mintToken(authConfig(), {
      sub: 'alice',
      ttlSeconds: 60,
      audience: 'omnigent-runner',
    });
    expect((verify(token, SECRET) as JwtPayload).aud).toBe('omnigent-runner');
  });

  it('should carry extra claims but never let them replace sub or iat', () => {
    const { token } = mintToken(authConfig(), {
      sub: 'alice',
      ttlSeconds: 60,
      extra: { typ: 'runner', runner_id: 'runner_x', sub: 'mallory', iat: 1 },
    });
    const claims = verify(token, SECRET) as JwtPayload;
    expect(claims).toMatchObject({ typ: 'runner', runner_id: 'runner_x', sub: 'alice' });
    expect(claims.iat).toBeGreaterThan(1);
  });

  it('should throw without a secret', () => {
    const auth = getConfig({}).auth;
    expect(() => mintToken(auth, { sub: 'alice', ttlSeconds: 60 })).toThrow(
      /OMNIGENT_JWT_SECRET is not set/,
    );
  });
});
