import { createServer } from 'node:http';

import { Controller, Get, Module } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Express, Request, Response } from 'express';
import request from 'supertest';

import { EdgeMiddleware, FastFrontCounters, frontRequests } from 'src/common/http/fast-front';
import type { LaneHit } from 'src/common/http/fast-lane.middleware';

@Controller('v1')
class ProbeController {
  @Get('probe')
  probe() {
    return { via: 'nest' };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

/** Appends its name to `X-Trace`, as an edge middleware sets its headers. */
function tracing(name: string): EdgeMiddleware {
  return (_req, res, next) => {
    const trace = res.getHeader('X-Trace');
    res.setHeader('X-Trace', trace ? `${String(trace)},${name}` : name);
    next();
  };
}

describe(frontRequests.name, () => {
  let app: NestExpressApplication;
  let counters: FastFrontCounters;
  let refuse: boolean;
  let failWith: unknown;
  let throwWith: unknown;
  const seen: { prototype: boolean; baseUrl: string; originalUrl: string; body: boolean }[] = [];
  const failed: unknown[] = [];

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ProbeModule] }).compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
    const edges = [
      tracing('id'),
      tracing('metrics'),
      ((_req, _res, next) => next(failWith)) as EdgeMiddleware,
      ((_req, _res, next) => {
        if (throwWith) {
          throw throwWith;
        }
        next();
      }) as EdgeMiddleware,
    ];
    const check: EdgeMiddleware = (_req, _res, next) =>
      next(refuse ? new Error('refused') : undefined);
    for (const edge of [...edges, check]) {
      app.use(edge);
    }
    const lane = {
      take: (req: Request, prepare?: () => void) => {
        if (!req.url.startsWith('/v1/probe')) {
          return null;
        }
        prepare?.();
        return req.query.nest === undefined ? ({} as LaneHit) : null;
      },
      answer: (_hit: LaneHit, req: Request, res: Response) => {
        seen.push({
          prototype: typeof req.get === 'function' && typeof res.status === 'function',
          baseUrl: req.baseUrl,
          originalUrl: req.originalUrl,
          body: Reflect.has(req, 'body'),
        });
        res.status(200).send('front');
      },
      fail: (error: unknown, _req: Request, res: Response) => {
        failed.push(error);
        res.status(500).end();
      },
    };
    counters = frontRequests(app.getHttpServer(), {
      app: app.getHttpAdapter().getInstance(),
      lane,
      edges,
      checks: [check],
    });
    await app.init();
  });

  beforeEach(() => {
    refuse = false;
    failWith = undefined;
    throwWith = undefined;
    seen.length = 0;
    failed.length = 0;
  });

  afterAll(() => app.close());

  it("should answer the lane's GETs itself, after the same edges in Express's order", async () => {
    const before = { ...counters };
    const res = await request(app.getHttpServer()).get('/v1/probe?x=1').expect(200);
    expect(res.text).toBe('front');
    expect(res.headers['x-trace']).toBe('id,metrics');
    // Express's prototypes and the router's fields, as the lane finds them behind Express.
    expect(seen).toEqual([
      { prototype: true, baseUrl: '', originalUrl: '/v1/probe?x=1', body: true },
    ]);
    expect(counters).toEqual({ served: before.served + 1, passed: before.passed });
  });

  it('should hand Express what the lane leaves, what has a body, and other methods', async () => {
    const before = { ...counters };
    const server = request(app.getHttpServer());
    const viaNest = [
      await server.get('/v1/probe?nest=1'),
      await server.get('/v1/probe').send({ a: 1 }),
      await server.post('/v1/probe'),
      await server.get('/v1/elsewhere'),
    ];
    expect(viaNest.map((r) => [r.status, r.headers['x-trace']])).toEqual([
      [200, 'id,metrics'],
      [200, 'id,metrics'],
      [404, 'id,metrics'],
      [404, 'id,metrics'],
    ]);
    expect(viaNest[0].body).toEqual({ via: 'nest' });
    expect(seen).toEqual([]);
    expect(counters).toEqual({ served: before.served, passed: before.passed + 4 });
  });

  it('should hand a request a check refuses to Express untouched', async () => {
    refuse = true;
    const res = await request(app.getHttpServer()).get('/v1/probe');
    // Express ran the edges once (not twice) and its own error path answered.
    expect(res.status).toBe(500);
    expect(res.headers['x-trace']).toBe('id,metrics');
    expect(seen).toEqual([]);
  });

  it("should send an edge's error to the lane's exception filter", async () => {
    failWith = new Error('edge');
    await request(app.getHttpServer()).get('/v1/probe').expect(500);
    expect(failed).toEqual([failWith]);
    expect(seen).toEqual([]);
  });

  it("should send an edge's synchronous throw to the filter and stay up", async () => {
    throwWith = new Error('thrown');
    await request(app.getHttpServer()).get('/v1/probe').expect(500);
    expect(failed).toEqual([throwWith]);
    throwWith = undefined;
    await request(app.getHttpServer()).get('/v1/probe').expect(200);
  });

  it('should refuse a server whose listener is not the Express app', () => {
    const express = app.getHttpAdapter().getInstance() as Express;
    expect(() =>
      frontRequests(createServer(), {
        app: express,
        lane: { take: () => null, answer: jest.fn(), fail: jest.fn() },
        edges: [],
        checks: [],
      }),
    ).toThrow('only listener');
  });
});
