import { Body, Controller, Get, HttpCode, Param, Post, Provider } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';

import express, { Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import request from 'supertest';

import { AppModule } from 'src/app.module';
import { AuthGuard } from 'src/common/auth/auth.guard';
import { LOCAL_PRINCIPAL } from 'src/common/auth/auth-principal';
import { RequestAuthService } from 'src/common/auth/request-auth.service';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { FastLane, FastRoute, sendAnswer } from 'src/common/http/fast-lane.middleware';
import { RateLimitGuard } from 'src/common/rate-limit/rate-limit.guard';
import { AppValidationPipe } from 'src/common/validation/app-validation.pipe';
import { getConfig } from 'src/config/app-config';

interface DynamicRef {
  module?: object;
  providers?: Provider[];
  imports?: unknown[];
}

/** Module metadata read off an @Module class (none for anything else). */
function metadata<T>(key: string, target: unknown): T[] {
  return typeof target === 'function' ? ((Reflect.getMetadata(key, target) as T[]) ?? []) : [];
}

/** Providers of a module and of everything it imports (dynamic modules and @Module classes). */
function providersOf(ref: unknown, seen = new Set<unknown>()): Provider[] {
  if (!ref || seen.has(ref)) {
    return [];
  }
  seen.add(ref);
  const dynamic: DynamicRef = typeof ref === 'object' ? (ref as DynamicRef) : {};
  const cls = dynamic.module ?? ref;
  const own = [...(dynamic.providers ?? []), ...metadata<Provider>(MODULE_METADATA.PROVIDERS, cls)];
  const imports = [...(dynamic.imports ?? []), ...metadata<unknown>(MODULE_METADATA.IMPORTS, cls)];
  return [...own, ...imports.flatMap((m) => providersOf(m, seen))];
}

/** The global guards and interceptors an app with this environment registers. */
function enhancers(env: Record<string, string>): unknown[] {
  return (
    providersOf(AppModule.forRoot(getConfig(env))) as { provide?: unknown; useClass?: unknown }[]
  )
    .filter((p) => p.provide === APP_GUARD || p.provide === APP_INTERCEPTOR)
    .map((p) => p.useClass);
}

describe('FastLane', () => {
  // The lane answers its routes without Nest's enhancers and runs AuthGuard's body itself
  // (RequestAuthService); it is not mounted when the rate limit's guard is on. A new global
  // guard or interceptor must be mirrored in the lane (or switch it off): this test says so.
  it('should mirror every global guard and interceptor of the app', () => {
    expect(enhancers({ OMNIGENT_DATA_DIR: '/tmp/omnigent-lane-spec' })).toEqual([AuthGuard]);
    expect(
      enhancers({
        OMNIGENT_DATA_DIR: '/tmp/omnigent-lane-spec',
        OMNIGENT_RATE_LIMIT_PER_MINUTE: '60',
      }),
    ).toEqual(expect.arrayContaining([AuthGuard, RateLimitGuard]));
  });
});

/** A lane over `routes` with the given authentication, error answer and validation pipe. */
function testLane(
  routes: FastRoute[],
  deps: {
    authenticate: () => Promise<unknown>;
    reply: (error: Error, req: Request, res: Response) => void;
    transform: (value: never, metadata: never) => Promise<unknown>;
  },
): FastLane {
  return new FastLane(routes, {
    auth: { authenticate: deps.authenticate } as unknown as RequestAuthService,
    filter: { reply: deps.reply } as unknown as AllExceptionsFilter,
    logs: {
      logger: pino({ level: 'silent' }),
      runInContext: (run: () => void) => run(),
    } as unknown as PinoLogger,
    pipe: { transform: deps.transform } as unknown as AppValidationPipe,
  });
}

@Controller('v1')
class ProbeController {
  @Get('probe')
  probe() {
    return 'nest';
  }
}

describe(`${FastLane.name} queries`, () => {
  /** Whether a query goes to Nest, asked by the lane (a list's `search_query`). */
  const fallThrough = jest.fn((query: Record<string, unknown>) => query.slow !== undefined);
  const transform = jest.fn((query: Record<string, unknown>) => {
    if (query.bad !== undefined) {
      throw new Error('invalid');
    }
    return Promise.resolve(query);
  });
  const route: FastRoute = {
    controller: ProbeController,
    method: 'probe',
    query: Object,
    fallThrough,
    handle: () => Promise.resolve('{"via":"lane"}'),
  };
  const lane = testLane([route], {
    authenticate: () => Promise.resolve(LOCAL_PRINCIPAL),
    reply: (_error, _req, res) => res.status(422).send('refused'),
    transform,
  });
  const app = express();
  app.use(lane.middleware);
  app.use((_req: Request, res: Response) => res.send('nest'));

  beforeEach(() => jest.clearAllMocks());

  it('should ask whether a query falls through until the lane validated that query string', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await request(app).get('/v1/probe?limit=5')).text).toBe('{"via":"lane"}');
    }
    // Asked once: a string validated before did not fall through.
    expect(fallThrough).toHaveBeenCalledTimes(1);
    expect(transform).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 2; i++) {
      expect((await request(app).get('/v1/probe?limit=5&slow=1')).text).toBe('nest');
      expect((await request(app).get('/v1/probe?limit=5&bad=1')).text).toBe('refused');
    }
    // Strings that fell through or failed validation are asked about every time.
    expect(fallThrough).toHaveBeenCalledTimes(5);
    expect(fallThrough).toHaveBeenLastCalledWith({ limit: '5', bad: '1' });
  });
});

@Controller('v1/things')
class PostProbeController {
  @Post(':id/events')
  @HttpCode(202)
  post(@Param('id') id: string, @Body() body: object) {
    return { id, body };
  }

  @Post(':id/plain')
  plain(@Param('id') id: string) {
    return { id };
  }
}

describe(`${FastLane.name} POST routes`, () => {
  const order: string[] = [];
  const transform = jest.fn((value: unknown, metadata: { type: string }) => {
    order.push(`pipe ${metadata.type}`);
    if ((value as { bad?: unknown }).bad !== undefined) {
      throw new Error('invalid');
    }
    return Promise.resolve({ ...(value as object), validated: true });
  });
  const param = {
    transform: (id: string) => {
      order.push('pipe param');
      if (id === 'gone') {
        throw new Error('not found');
      }
      return id;
    },
  };
  const handle = jest.fn((_auth, id: string, _query, _req, _res, body: object) =>
    Promise.resolve({ queued: true, id, body }),
  );
  const routes: FastRoute[] = [
    {
      controller: PostProbeController,
      method: 'post',
      param,
      body: Object,
      nestOnly: (req) => req.headers['idempotency-key'] !== undefined,
      handle,
    },
    { controller: PostProbeController, method: 'plain', param, body: Object, handle },
  ];
  const lane = testLane(routes, {
    authenticate: () => {
      order.push('auth');
      return Promise.resolve(LOCAL_PRINCIPAL);
    },
    reply: (error, _req, res) => res.status(422).send(error.message),
    transform,
  });
  const app = express();
  app.set('etag', 'strong');
  app.use(express.json());
  app.use(lane.middleware);
  app.use((_req: Request, res: Response) => res.send('nest'));

  beforeEach(() => {
    jest.clearAllMocks();
    order.length = 0;
  });

  it("should answer with the handler's status and its result as res.json sends it", async () => {
    const res = await request(app).post('/v1/things/t1/events').send({ type: 'message' });
    expect(res.status).toBe(202);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers.etag).toBeDefined();
    expect(res.body).toEqual({
      queued: true,
      id: 't1',
      body: { type: 'message', validated: true },
    });
    // Nest's order: the guard, then the parameters' pipes in the method's order.
    expect(order).toEqual(['auth', 'pipe param', 'pipe body']);
    // Without @HttpCode, Nest's default for a POST.
    expect((await request(app).post('/v1/things/t1/plain').send({})).status).toBe(201);
  });

  it("should refuse through the app's filter, the path's pipe before the body's", async () => {
    const gone = await request(app).post('/v1/things/gone/events').send({ bad: 1 });
    expect(gone.text).toBe('not found');
    expect(order).toEqual(['auth', 'pipe param']);
    const bad = await request(app).post('/v1/things/t1/events').send({ bad: 1 });
    expect([bad.status, bad.text]).toEqual([422, 'invalid']);
    expect(handle).not.toHaveBeenCalled();
  });

  it('should leave to Nest what the route says Nest answers, and other methods', async () => {
    const served = lane.served;
    const keyed = await request(app)
      .post('/v1/things/t1/events')
      .set('Idempotency-Key', 'k1')
      .send({ type: 'message' });
    expect(keyed.text).toBe('nest');
    expect((await request(app).get('/v1/things/t1/events')).text).toBe('nest');
    expect((await request(app).put('/v1/things/t1/events').send({})).text).toBe('nest');
    expect(handle).not.toHaveBeenCalled();
    expect(lane.served).toBe(served);
  });
});

describe(sendAnswer.name, () => {
  const ETAG = '"vabc"';
  const bodies: Record<string, string> = {
    ascii: JSON.stringify({ items: 'x'.repeat(2_000) }),
    utf8: JSON.stringify({ title: 'é ☃ 😀' }),
  };
  /** Sent bytes (`encoded`) for a body, when the route has them. */
  let encoded: (json: string) => Buffer | undefined = () => undefined;

  // The lane's answer as its handler leaves it: headers set, then `res.send` or `sendAnswer`.
  const app = express();
  app.set('etag', 'strong');
  app.get('/:how/:body/:status', (req: Request, res: Response) => {
    res.setHeader('X-Request-Id', 'r');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Cache-Control', 'private, no-cache');
    res.setHeader('ETag', ETAG);
    res.status(Number(req.params.status));
    const body = req.params.status === '304' ? undefined : bodies[req.params.body as string];
    if (req.params.how === 'express') {
      res.send(body);
    } else {
      sendAnswer({ encoded: (json) => encoded(json) }, req, res, body);
    }
  });

  /** Status line, header lines (Date left out) and body bytes. */
  async function wire(path: string, headers: Record<string, string> = {}) {
    const res = await request(app)
      .get(path)
      .set(headers)
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      });
    const raw = (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders;
    const lines = raw.flatMap((v, i) =>
      i % 2 === 0 || raw[i - 1] === 'Date' ? [] : [`${raw[i - 1]}: ${v}`],
    );
    return { status: res.status, lines, body: (res.body as Buffer).toString('hex') };
  }

  afterEach(() => {
    encoded = () => undefined;
  });

  it.each([
    ['ascii', '200', {}],
    ['utf8', '200', {}],
    ['ascii', '304', { 'If-None-Match': ETAG }],
    ['ascii', '200', { 'If-None-Match': '"stale"' }],
    ['ascii', '200', { 'If-None-Match': ETAG }],
    ['utf8', '200', { 'If-Modified-Since': 'Thu, 03 Dec 2026 12:00:00 GMT' }],
  ])('should answer as res.send does: %s %s %j', async (body, status, headers) => {
    const expected = await wire(`/express/${body}/${status}`, headers);
    expect(await wire(`/lane/${body}/${status}`, headers)).toEqual(expected);
    encoded = (json) => Buffer.from(json, 'utf8');
    expect(await wire(`/lane/${body}/${status}`, headers)).toEqual(expected);
  });

  it("should send the route's bytes of a body instead of encoding it again", async () => {
    encoded = (json) => (json === bodies.ascii ? Buffer.from('{"cached":true}') : undefined);
    const res = await wire('/lane/ascii/200');
    expect(Buffer.from(res.body, 'hex').toString()).toBe('{"cached":true}');
    expect(res.lines).toContain('Content-Length: 15');
  });
});
