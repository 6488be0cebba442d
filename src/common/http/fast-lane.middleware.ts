import { HttpStatus, PipeTransform, RequestMethod, Type } from '@nestjs/common';
import {
  HEADERS_METADATA,
  HTTP_CODE_METADATA,
  METHOD_METADATA,
  PATH_METADATA,
} from '@nestjs/common/constants';
import { NextFunction, Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { RequestAuthService } from 'src/common/auth/request-auth.service';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { RequestLineWriter, requestLineWriter } from 'src/common/logging/pino-options.util';
import { AppValidationPipe } from 'src/common/validation/app-validation.pipe';

/**
 * A GET or POST route the fast lane answers as its Nest route would (issue 12). The method, the
 * template, the status and the headers come from the Nest handler's own metadata, so the two
 * cannot drift apart.
 */
export interface FastRoute<Q extends object = object, B extends object = object> {
  /** The controller whose method serves the route through Nest. */
  controller: Type;
  /** That method's name: its path and `@Header`s are the lane's. */
  method: string;
  /** The pipe of the one path parameter, when the template has one. */
  param?: PipeTransform<string, string>;
  /** The `@Query()` DTO, validated by the app's pipe as Nest does (none: no query read). */
  query?: Type<Q>;
  /** The `@Body()` DTO of a POST, validated by the app's pipe as Nest does. */
  body?: Type<B>;
  /** Queries Nest must answer (a slow path the lane does not take). */
  fallThrough?: (query: Record<string, unknown>) => boolean;
  /** Requests Nest must answer whatever their query (an interceptor's header, say). */
  nestOnly?: (req: Request) => boolean;
  /** The UTF-8 bytes of a body the route answered before, if it still has them (its cache's). */
  encoded?: (json: string) => Buffer | undefined;
  /**
   * Calls the controller method with the arguments Nest would give it; its result is sent (JSON
   * text as is, an object as `res.json` sends it, as Nest's Express adapter does).
   */
  handle(
    auth: AuthPrincipal,
    param: string,
    query: Q,
    req: Request,
    res: Response,
    body: B,
  ): Promise<string | object | undefined>;
}

interface Header {
  name: string;
  value: string;
}

interface CompiledRoute {
  route: FastRoute;
  method: 'GET' | 'POST';
  /** `@HttpCode()`, else Nest's default for the method. */
  status: number;
  template: string;
  segments: string[];
  paramAt: number;
  headers: Header[];
}

/** A request the lane takes: its route and the raw path parameter. */
export interface LaneHit {
  readonly compiled: CompiledRoute;
  readonly param: string;
}

export interface FastLaneDeps {
  auth: RequestAuthService;
  filter: AllExceptionsFilter;
  logs: PinoLogger;
  pipe: AppValidationPipe;
}

/** Valid query strings whose DTO the lane remembers (all are forgotten beyond). */
const VALIDATED_QUERIES = 1000;

/** The content type of the lane's bodies (`@JsonText()`), as `res.send` leaves it. */
const JSON_TYPE = 'application/json; charset=utf-8';

/** A path parameter the lane takes as is: Express would decode anything else first. */
const PLAIN_SEGMENT = /^[A-Za-z0-9_.~-]{1,200}$/;

/**
 * Answers a few hot routes (`@Authenticated()` GETs and POSTs without interceptors of their own
 * that apply, see `nestOnly`) without Express's route walk and Nest's per-request machinery
 * (issue 12), in the order Nest runs them: authenticate (`RequestAuthService`, as `AuthGuard`),
 * the handler's status and headers, the path pipe, the query and the body through the app's
 * validation pipe, the controller method itself, `res.send` or `res.json` (Express's ETag and
 * 304); errors through `AllExceptionsFilter`; the request line as pino-http writes it. Mounted
 * after the id, metrics, helmet, CORS, JSON body and input-guard middleware, which run as for
 * any route; anything it does not recognise goes on to Nest. The fast front (`fast-front.ts`)
 * calls `take` and `answer` from the server's request listener for the GETs.
 */
export class FastLane {
  /** Requests this lane answered (tests read it to know the lane, not Nest, served them). */
  served = 0;
  private readonly routes: CompiledRoute[];
  private readonly validated = new Map<string, object>();
  private readonly lines: RequestLineWriter;

  constructor(
    routes: FastRoute[],
    private readonly deps: FastLaneDeps,
  ) {
    // Outside a request's context: the root logger.
    this.lines = requestLineWriter(deps.logs.logger);
    this.routes = routes.map((route) => {
      const handler = (route.controller.prototype as Record<string, object>)[route.method];
      // Nest's template: the controller's path, then the method's (`@Get()` is `/`).
      const template = [
        '',
        Reflect.getMetadata(PATH_METADATA, route.controller),
        Reflect.getMetadata(PATH_METADATA, handler),
      ]
        .join('/')
        .replace(/\/+/g, '/')
        .replace(/(.)\/$/, '$1');
      const segments = template.split('/');
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
      if (method !== RequestMethod.GET && method !== RequestMethod.POST) {
        throw new Error(`FastLane: ${route.method} is neither a GET nor a POST route`);
      }
      const verb = method === RequestMethod.GET ? 'GET' : 'POST';
      return {
        route,
        method: verb,
        status:
          (Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined) ??
          (verb === 'GET' ? HttpStatus.OK : HttpStatus.CREATED),
        template,
        segments,
        paramAt: segments.findIndex((s) => s.startsWith(':')),
        headers: (Reflect.getMetadata(HEADERS_METADATA, handler) ?? []) as Header[],
      };
    });
  }

  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const hit = this.take(req);
    if (!hit) {
      next();
      return;
    }
    this.answer(hit, req, res);
  };

  /**
   * The route this lane answers `req` with, or null when Nest must (another method or path, a
   * query it leaves to Nest). `prepare` runs once the path matched, before the query is read
   * (it needs Express's request prototype, `req.query`).
   */
  take(req: Request, prepare?: () => void): LaneHit | null {
    const hit = this.match(req.method, req.url);
    if (!hit) {
      return null;
    }
    prepare?.();
    const { fallThrough, nestOnly } = hit.compiled.route;
    if (nestOnly?.(req)) {
      return null;
    }
    // A query string the lane validated before did not fall through (the same string, the same
    // answer): not parsed again to ask.
    return fallThrough &&
      !this.validated.has(queryKey(hit.compiled, req.url)) &&
      fallThrough(req.query as Record<string, unknown>)
      ? null
      : hit;
  }

  /** Answers a request `take` accepted, as its Nest route would. */
  answer(hit: LaneHit, req: Request, res: Response): void {
    this.served++;
    // What the request line and the metrics label the request with, as for a Nest route.
    Object.assign(req, { route: { path: hit.compiled.template }, baseUrl: '' });
    const started = Date.now();
    const reqId = (req as { id?: string }).id;
    // Lines logged while the request runs carry its id, as under pino-http.
    this.deps.logs.runInContext(
      () => {
        res.once('close', () => this.lines(reqId, req, res, Date.now() - started));
        this.serve(hit.compiled, hit.param, req, res).catch((error: unknown) =>
          this.deps.filter.reply(error, req, res),
        );
      },
      { bindings: { reqId } },
    );
  }

  /** An error before the answer started, through the app's exception filter. */
  fail(error: unknown, req: Request, res: Response): void {
    this.deps.filter.reply(error, req, res);
  }

  private async serve(
    compiled: CompiledRoute,
    rawParam: string,
    req: Request,
    res: Response,
  ): Promise<void> {
    const { route } = compiled;
    const principal = await this.deps.auth.authenticate(req, { admin: false });
    res.status(compiled.status);
    for (const { name, value } of compiled.headers) {
      res.setHeader(name, value);
    }
    // The path pipe settles before the query's and the body's validation do in Nest (the
    // parameters' order): its 404 wins.
    const param = route.param ? route.param.transform(rawParam, PARAM_METADATA) : rawParam;
    const query = route.query ? await this.validQuery(compiled, req) : {};
    const input = route.body
      ? ((await this.deps.pipe.transform(req.body, {
          type: 'body',
          metatype: route.body,
        })) as object)
      : {};
    const answer = await route.handle(principal, param, query, req, res, input);
    // What Nest's Express adapter does with a handler's result (`reply`, status left as set).
    if (typeof answer === 'object' && answer !== null) {
      res.json(answer);
      return;
    }
    sendAnswer(route, req, res, answer);
  }

  /**
   * The query through the app's validation pipe. The DTO of a query string that passed is
   * remembered (frozen: readers only read it), so a client polling the same URL pays once.
   */
  private async validQuery(compiled: CompiledRoute, req: Request): Promise<object> {
    const key = queryKey(compiled, req.url);
    const known = this.validated.get(key);
    if (known) {
      return known;
    }
    const query = Object.freeze(
      (await this.deps.pipe.transform(req.query, {
        type: 'query',
        metatype: compiled.route.query!,
      })) as object,
    );
    if (this.validated.size >= VALIDATED_QUERIES) {
      this.validated.clear();
    }
    this.validated.set(key, query);
    return query;
  }

  private match(method: string | undefined, url: string): LaneHit | null {
    const q = url.indexOf('?');
    const segments = (q < 0 ? url : url.slice(0, q)).split('/');
    for (const compiled of this.routes) {
      if (compiled.method !== method || compiled.segments.length !== segments.length) {
        continue;
      }
      const matches = compiled.segments.every((s, i) =>
        i === compiled.paramAt ? PLAIN_SEGMENT.test(segments[i]) : s === segments[i],
      );
      if (matches) {
        return { compiled, param: compiled.paramAt < 0 ? '' : segments[compiled.paramAt] };
      }
    }
    return null;
  }
}

const PARAM_METADATA = { type: 'param', data: undefined } as const;

/** What the lane remembers a validated query by: the route's template and the query string. */
function queryKey(compiled: CompiledRoute, url: string): string {
  const q = url.indexOf('?');
  return `${compiled.template}?${q < 0 ? '' : url.slice(q + 1)}`;
}

/**
 * `res.send(body)` for the lane's answers, with the same bytes: JSON text under the ETag the
 * handler set, or a 304 it decided. The body's bytes are the route's cached ones when it has them
 * (`Buffer.from` of a 30 KB answer per request showed in the read paths' profile, issue 12), and
 * Express's generic steps that cannot change such an answer are skipped: the content type parsed
 * and set again, the ETag and Transfer-Encoding looked up, the request's freshness (without
 * conditional headers, never fresh). Anything else goes through `res.send`.
 */
export function sendAnswer(
  route: Pick<FastRoute, 'encoded'>,
  req: Request,
  res: Response,
  body: string | undefined,
): void {
  const { statusCode } = res;
  if (statusCode === 304 && body === undefined) {
    // `send`'s 304: no body, and none of the headers that describe one.
    res.removeHeader('Content-Type');
    res.removeHeader('Content-Length');
    res.removeHeader('Transfer-Encoding');
    res.end();
    return;
  }
  if (
    statusCode === 200 &&
    typeof body === 'string' &&
    req.headers['if-none-match'] === undefined &&
    req.headers['if-modified-since'] === undefined &&
    res.getHeader('Content-Type') === JSON_TYPE &&
    res.hasHeader('ETag') &&
    !res.hasHeader('Transfer-Encoding')
  ) {
    const bytes = route.encoded?.(body) ?? Buffer.from(body, 'utf8');
    res.setHeader('Content-Length', String(bytes.length));
    res.end(bytes);
    return;
  }
  res.send(body);
}
