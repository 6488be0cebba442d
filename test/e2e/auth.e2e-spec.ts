import { sign } from 'jsonwebtoken';

import { useTestApp } from 'test/e2e/create-app';
import { b64url, ec, expectUnauthorized, flip, hs, now, rsa, SECRET } from 'test/utils/auth-tokens';

describe('auth (jwt mode, HS256 secret)', () => {
  const t = useTestApp('postgres', {
    OMNIGENT_AUTH: 'jwt',
    OMNIGENT_JWT_SECRET: SECRET,
    OMNIGENT_ADMINS: 'root@example.com',
  });

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
