import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Controller, Get, Module } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import request from 'supertest';

import { CONSOLE_CSP, serveConsole } from 'src/common/http/console-static';

@Controller('v1')
class ProbeController {
  @Get('probe')
  probe() {
    return { ok: true };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

async function appServing(dir: string): Promise<NestExpressApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [ProbeModule] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
  serveConsole(app, dir);
  await app.init();
  return app;
}

describe(serveConsole.name, () => {
  let dir: string;
  let app: NestExpressApplication;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'console-static-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    app = await appServing(dir);
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should serve hashed assets as immutable, with the console CSP', async () => {
    const res = await request(app.getHttpServer()).get('/ui/assets/index-abc123.js').expect(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });

  it.each(['/ui', '/ui/', '/ui/index.html', '/ui/sessions/conv_1', '/ui/runners'])(
    'should answer %s with index.html, revalidated on each load',
    async (path) => {
      const res = await request(app.getHttpServer()).get(path).expect(200);
      expect(res.text).toContain('<title>console</title>');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    },
  );

  it('should answer a missing asset with 404, not the app', async () => {
    await request(app.getHttpServer()).get('/ui/assets/gone-999.js').expect(404);
  });

  it('should not serve files outside its directory', async () => {
    const res = await request(app.getHttpServer()).get('/ui/..%2f..%2fetc%2fpasswd');
    expect(res.text).not.toContain('root:');
  });

  it('should leave other methods and the API alone', async () => {
    await request(app.getHttpServer()).post('/ui/sessions').expect(404);
    const res = await request(app.getHttpServer()).get('/v1/probe').expect(200);
    expect(res.body).toEqual({ ok: true });
    expect(res.headers['content-security-policy']).toBeUndefined();
  });

  it('should say how to build the console when it is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'console-empty-'));
    const bare = await appServing(empty);
    try {
      const res = await request(bare.getHttpServer()).get('/ui/').expect(503);
      expect(res.text).toContain('npm run build');
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
