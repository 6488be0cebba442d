import { IncomingMessage, ServerResponse } from 'node:http';

import { Controller, Get, Headers, Module } from '@nestjs/common';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Express } from 'express';
import request from 'supertest';

import { bornWith, ExpressServerAdapter } from 'src/common/http/express-server.util';

@Controller('v1')
class ProbeController {
  @Get('probe')
  probe(@Headers('x-probe') probe: string) {
    return { probe };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

/** What the server's request listener is handed, before Express sees it. */
interface Arrival {
  request: boolean;
  response: boolean;
  instances: boolean;
}

async function appWith(adapter: ExpressAdapter) {
  const moduleRef = await Test.createTestingModule({ imports: [ProbeModule] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>(adapter, { logger: false });
  await app.init();
  const express = app.getHttpAdapter().getInstance() as Express;
  const arrivals: Arrival[] = [];
  app.getHttpServer().prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    arrivals.push({
      request: Object.getPrototypeOf(req) === express.request,
      response: Object.getPrototypeOf(res) === express.response,
      instances: req instanceof IncomingMessage && res instanceof ServerResponse,
    });
  });
  return { app, arrivals };
}

describe(ExpressServerAdapter.name, () => {
  it("should hand Express requests and responses that already have its app's prototypes", async () => {
    const { app, arrivals } = await appWith(new ExpressServerAdapter());
    try {
      const res = await request(app.getHttpServer()).get('/v1/probe').set('X-Probe', 'p1');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ probe: 'p1' });
      expect(arrivals).toEqual([{ request: true, response: true, instances: true }]);
    } finally {
      await app.close();
    }
  });

  it("should differ from Nest's own adapter there, and answer the same", async () => {
    const { app, arrivals } = await appWith(new ExpressAdapter());
    try {
      const res = await request(app.getHttpServer()).get('/v1/probe').set('X-Probe', 'p1');
      expect(res.body).toEqual({ probe: 'p1' });
      expect(arrivals).toEqual([{ request: false, response: false, instances: true }]);
    } finally {
      await app.close();
    }
  });
});

describe(bornWith.name, () => {
  interface Made {
    args: unknown[];
  }
  /** A constructor as Node's `IncomingMessage` is one: a function that may be called on `this`. */
  function Base(this: Made, ...args: unknown[]): void {
    this.args = args;
  }
  const BaseType = Base as unknown as new (...args: unknown[]) => Made;

  it("should build Base's object, with its arguments, on the prototype given", () => {
    const prototype = Object.create(Base.prototype as object, { extra: { value: 1 } }) as object;
    const Born = bornWith(BaseType, prototype);
    const made = new Born('a', 2);
    expect(Object.getPrototypeOf(made)).toBe(prototype);
    expect(made).toBeInstanceOf(BaseType);
    expect(made.args).toEqual(['a', 2]);
  });

  it('should return a class as it is (a class cannot be called on this)', () => {
    class Modern {}
    expect(bornWith(Modern, Object.create(Modern.prototype) as object)).toBe(Modern);
  });
});
