import { createTestApp, TestApp } from 'test/e2e/create-app';
import { ServerProcess, startServer } from 'test/utils/processes';
import { startTcpProxy, TcpProxy } from 'test/utils/tcp-proxy';

describe('GET /ready', () => {
  let t: TestApp;
  let proxy: TcpProxy;

  beforeAll(async () => {
    // The app reaches PostgreSQL through a proxy the test can take down.
    const db = new URL(process.env.OMNIGENT_TEST_DATABASE_URL as string);
    proxy = await startTcpProxy(`http://${db.hostname}:${db.port || 5432}`);
    db.port = new URL(proxy.url).port;
    t = await createTestApp('postgres', { DATABASE_URL: db.toString() });
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await proxy?.close();
  });

  it('should answer 200 with the database check while the database answers', async () => {
    const res = await t.http.get('/ready').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', details: { database: { status: 'up' } } });
  });

  it('should answer 503 with the error body when the database is gone, /health staying 200', async () => {
    await proxy.close();
    const res = await t.http.get('/ready').expect(503);
    expect(res.body).toMatchObject({
      code: 'service_unavailable',
      error: { code: 'service_unavailable' },
      status: 'error',
      details: { database: { status: 'down' } },
    });
    await t.http.get('/health').expect(200, { status: 'ok' });
  });
});

describe('draining on SIGTERM', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
      OMNIGENT_DRAIN_MS: '1500',
    });
  });
  afterAll(() => server?.kill());

  it('should answer /ready 503 first, keep serving during the drain, then exit 0', async () => {
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    const sentAt = Date.now();
    server.proc.kill('SIGTERM');
    await server.waitForOutput(/SIGTERM: draining/);
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ code: 'service_unavailable', status: 'draining' });
    // Still serving everything else while load balancers catch up.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/v1/me`)).status).toBe(200);
    expect(await server.exited).toBe(0);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1400);
    expect(server.output()).toMatch(/Stopped/);
  });
});
