import { useTestApp } from 'test/e2e/create-app';
import { hs } from 'test/utils/auth-tokens';

describe('auth (none mode)', () => {
  const t = useTestApp('postgres');

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
