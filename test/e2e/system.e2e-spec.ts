import { useTestApp } from 'test/e2e/create-app';

describe('system endpoints', () => {
  const t = useTestApp('postgres');

  it('should answer /api/version with the package version', async () => {
    const res = await t.http.get('/api/version').expect(200);
    expect(res.body).toEqual({ version: t.config.version });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('should keep a sane incoming X-Request-Id and replace an insane one', async () => {
    const kept = await t.http.get('/api/version').set('X-Request-Id', 'trace-abc-12345');
    expect(kept.headers['x-request-id']).toBe('trace-abc-12345');
    const replaced = await t.http.get('/api/version').set('X-Request-Id', 'bad id with spaces');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('should answer unknown routes with the error body', async () => {
    const res = await t.http.get('/nope').expect(404);
    expect(res.body).toEqual({
      code: 'not_found',
      message: 'Cannot GET /nope',
      error: { code: 'not_found', message: 'Cannot GET /nope' },
    });
  });

  it('should serve /v1/info, /v1/me, /docs and /openapi.json', async () => {
    const info = await t.http.get('/v1/info').expect(200);
    expect(info.body.single_user).toBe(true);
    expect(info.body.server_version).toBe(t.config.version);
    const me = await t.http.get('/v1/me').expect(200);
    expect(me.body).toEqual({ user_id: 'local', is_admin: true });
    await t.http
      .get('/docs')
      .expect(200)
      .expect('Content-Type', /text\/html/);
    const doc = await t.http.get('/openapi.json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
  });
});
