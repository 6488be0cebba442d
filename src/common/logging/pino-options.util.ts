import { IncomingMessage, ServerResponse } from 'node:http';

import type { Params } from 'nestjs-pino';
import { Level, Logger, destination, stdTimeFunctions, symbols } from 'pino';
import type { Options } from 'pino-http';
import type PinoPretty from 'pino-pretty';

import { assignRequestId } from 'src/common/http/request-id.middleware';
import type { AppConfig, LogLevel } from 'src/config/app-config';

const PINO_LEVEL: Record<LogLevel, Level> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Routes probed every few seconds: their request lines go to debug, not info. */
const PROBES = new Set(['/health', '/ready', '/metrics']);

/** Query parameters whose values never reach a log line. */
const SECRET_PARAM = /token|secret|password|passwd|key|code|signature|auth/i;

/** Paths redacted wherever a logged object carries them (headers, tokens, the JWT secret). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'jwtSecret',
  '*.jwtSecret',
  'OMNIGENT_JWT_SECRET',
  '*.OMNIGENT_JWT_SECRET',
  'OMNIGENT_METRICS_TOKEN',
  '*.OMNIGENT_METRICS_TOKEN',
];

export interface LoggedRequest extends IncomingMessage {
  originalUrl?: string;
  route?: { path?: string };
  baseUrl?: string;
  principal?: { userId: string };
}

export function useJson(config: AppConfig, isTty = Boolean(process.stdout.isTTY)): boolean {
  return config.ops.logFormat === 'json' || (config.ops.logFormat === 'auto' && !isTty);
}

/** The URL without secret query values: `?token=abc` becomes `?token=[Redacted]`. */
export function safeUrl(url: string | undefined): string {
  if (!url) {
    return '';
  }
  const q = url.indexOf('?');
  if (q < 0) {
    return url;
  }
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=')[0];
      return SECRET_PARAM.test(decodeURIComponentSafe(name)) && pair.includes('=')
        ? `${name}=[Redacted]`
        : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The route template that served the request (`/v1/sessions/:session_id`), or null when no
 * route matched (only the catch-all middleware saw it).
 */
export function routeTemplate(req: LoggedRequest): string | null {
  const template = req.route?.path;
  if (typeof template !== 'string' || template.includes('*')) {
    return null;
  }
  return `${req.baseUrl ?? ''}${template}`;
}

/** The route template, else the bare path (no query string). */
export function routeOf(req: LoggedRequest): string {
  return routeTemplate(req) ?? safeUrl(req.originalUrl ?? req.url).split('?')[0];
}

function requestLine(req: LoggedRequest, res: ServerResponse, ms: number) {
  return {
    method: req.method,
    route: routeOf(req),
    url: safeUrl(req.originalUrl ?? req.url),
    status: res.statusCode,
    ms,
    user: req.principal?.userId,
  };
}

const successMessage = (req: LoggedRequest, res: ServerResponse, ms: number) =>
  `${req.method} ${routeOf(req)} ${res.statusCode} ${ms}ms`;
const errorMessage = (req: LoggedRequest, res: ServerResponse) =>
  `${req.method} ${routeOf(req)} ${res.statusCode}`;
const errorObject = (req: LoggedRequest, res: ServerResponse, error: Error, ms: number) => ({
  ...requestLine(req, res, ms),
  // The exception filter logged the failure itself; this says only what the client saw.
  err:
    res.statusCode >= 500 && !(error.message ?? '').startsWith('failed with status')
      ? { message: error.message }
      : undefined,
});

/**
 * The request line pino-http writes when a response closes, for a request answered outside the
 * Express/Nest pipeline (the fast lane, issue 12): same level, fields and message. `log` is the
 * request's logger (the root's child with its `reqId`).
 */
export function logRequestLine(
  log: Logger,
  req: LoggedRequest,
  res: ServerResponse,
  ms: number,
): void {
  const level = requestLogLevel(routeOf(req), res.statusCode);
  if (res.statusCode >= 500) {
    const error = new Error(`failed with status code ${res.statusCode}`);
    log[level](errorObject(req, res, error, ms), errorMessage(req, res));
    return;
  }
  log[level](requestLine(req, res, ms), successMessage(req, res, ms));
}

/** Writes a request's line when its response closes (the fast lane's, issue 12). */
export type RequestLineWriter = (
  reqId: string | undefined,
  req: LoggedRequest,
  res: ServerResponse,
  ms: number,
) => void;

/**
 * `logRequestLine` as the child of `root` with the request's `reqId` would write it, with the same
 * bytes. When `root`'s configuration allows (no mixin, hooks, message prefix or nested key, a
 * stream that needs no metadata, and pino serialising a probe of awkward values exactly as
 * `JSON.stringify` does), the line is built as text: pino's generic path (a child logger per
 * request, the redaction wrappers over every field) showed in the read paths' profile. Error
 * lines (5xx, with their `err`) and anything else go through pino.
 */
export function requestLineWriter(root: Logger): RequestLineWriter {
  const direct = lineBuilder(root);
  const stream = (root as unknown as Record<symbol, { write(line: string): void }>)[
    symbols.streamSym
  ];
  return (reqId, req, res, ms) => {
    const level = requestLogLevel(routeOf(req), res.statusCode);
    if (direct && res.statusCode < 500) {
      if (!root.isLevelEnabled(level)) {
        return;
      }
      const line = direct(
        level,
        null,
        reqId,
        requestLine(req, res, ms),
        successMessage(req, res, ms),
      );
      if (line !== null) {
        stream.write(line);
        return;
      }
    }
    logRequestLine(reqId === undefined ? root : root.child({ reqId }), req, res, ms);
  };
}

type LineBuilder = (
  level: Level,
  time: string | null,
  reqId: string | undefined,
  fields: Record<string, unknown>,
  msg: string,
) => string | null;

/** Awkward values the builder must serialise as pino does (else pino writes every line). */
const LINE_PROBES = [
  'plain',
  'q"uo\\te',
  'ctl\u0001\u001f',
  'é ü ☃ 😀',
  'lone \ud800',
  '%s %d',
  'x'.repeat(150),
];

function lineBuilder(root: Logger): LineBuilder | null {
  const r = root as unknown as Record<symbol, unknown>;
  const hooks = r[symbols.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const stream = r[symbols.streamSym] as Record<symbol, unknown> | undefined;
  if (
    r[symbols.mixinSym] ||
    r[symbols.nestedKeySym] ||
    r[(symbols as unknown as Record<string, symbol>).msgPrefixSym] ||
    r[symbols.messageKeySym] !== 'msg' ||
    hooks?.logMethod ||
    hooks?.streamWrite ||
    !stream ||
    stream[symbols.needsMetadataGsym] === true
  ) {
    return null;
  }
  const build: LineBuilder = (level, time, reqId, fields, msg) => {
    let line =
      (r[symbols.lsCacheSym] as Record<number, string>)[root.levels.values[level]] +
      (time ?? (r[symbols.timeSym] as () => string)()) +
      (r[symbols.chindingsSym] as string);
    if (reqId !== undefined) {
      line += `,"reqId":${JSON.stringify(reqId)}`;
    }
    for (const key in fields) {
      const value = fields[key];
      if (typeof value === 'string') {
        line += `,"${key}":${JSON.stringify(value)}`;
      } else if (typeof value === 'number') {
        line += `,"${key}":${Number.isFinite(value) ? String(value) : 'null'}`;
      } else if (value !== undefined) {
        return null;
      }
    }
    return `${line},"msg":${JSON.stringify(msg)}${r[symbols.endSym] as string}`;
  };
  // pino's own serialisation of the same line, for each probe value in each field.
  for (const value of LINE_PROBES) {
    const fields = { method: value, route: value, url: value, status: 200, ms: 3, user: value };
    const child = root.child({ reqId: value }) as unknown as Record<symbol, unknown>;
    const asJson = child[symbols.asJsonSym] as (
      obj: object,
      msg: string,
      num: number,
      time: string,
    ) => string;
    const time = ',"time":"probe"';
    if (
      asJson.call(child, fields, value, root.levels.values.info, time) !==
      build('info', time, value, fields, value)
    ) {
      return null;
    }
  }
  return build;
}

/** nestjs-pino's parameters: JSON or pretty lines, ISO times, request ids, redaction. */
export function loggerParams(config: AppConfig): Params {
  const options: Options<LoggedRequest, ServerResponse> = {
    level: PINO_LEVEL[config.logLevel],
    base: undefined,
    formatters: { level: (label) => ({ level: label }) },
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS },
    genReqId: (req, res) => assignRequestId(req, res),
    // Lines logged while a request runs carry only its id; the request line carries the rest.
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'reqId' },
    customLogLevel: (req, res, err) => requestLogLevel(routeOf(req), res.statusCode, err),
    customSuccessMessage: successMessage,
    customErrorMessage: errorMessage,
    customSuccessObject: (req, res, val: { responseTime: number }) =>
      requestLine(req, res, val.responseTime),
    customErrorObject: (req, res, error, val: { responseTime: number }) =>
      errorObject(req, res, error, val.responseTime),
  };
  if (useJson(config)) {
    return {
      pinoHttp: [options, config.ops.logSync ? syncLines() : bufferedLines()] as Params['pinoHttp'],
    };
  }
  // pino-pretty loads only for pretty lines (~20 ms of a warm start otherwise; issue 12).
  const pinoPretty: typeof PinoPretty =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('pino-pretty') as { default: typeof PinoPretty }).default;
  const pretty = pinoPretty({
    colorize: Boolean(process.stdout.isTTY),
    sync: true,
    translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'",
    ignore: 'context,reqId,method,route,url,status,ms,user',
    messageFormat: '{if context}[{context}] {end}{msg}{if reqId} ({reqId}){end}',
    singleLine: true,
  });
  return { pinoHttp: [options, pretty] as Params['pinoHttp'] };
}

/**
 * Stdout (or `dest`) written synchronously, one `write(2)` per line before `write` returns
 * (`OMNIGENT_LOG_SYNC=true`, the default): a line logged is a line written, even if the process
 * is killed right after. pino's default destination is asynchronous (a line goes to libuv's
 * thread pool, or waits in sonic-boom's buffer while a write is in flight), which lost the
 * lines in flight on a SIGKILL; measured no cheaper per request (docs/PERFORMANCE.md, eighth
 * pass). The price: a stdout reader that stops reading (a full pipe) stalls the server.
 */
export function syncLines(dest: number | string = 1): ReturnType<typeof destination> {
  return destination({ dest, sync: true });
}

/** Bytes of JSON lines buffered before they are written (`OMNIGENT_LOG_SYNC=false`). */
export const LOG_BUFFER_BYTES = 4096;
/** The longest a buffered line waits while the server is quiet. */
export const LOG_FLUSH_MS = 100;

/**
 * Stdout (or `dest`) written in batches (issue 12: one `write(2)` per request line showed in the read
 * paths' profile). pino's own destination flushes what is left synchronously when the process
 * exits (a graceful shutdown, `process.exit`, an uncaught exception); a timer flushes a quiet
 * server's lines. A SIGKILL or a power loss loses what was buffered.
 */
export function bufferedLines(
  dest: number | string = 1,
  flushMs = LOG_FLUSH_MS,
): ReturnType<typeof destination> {
  const stream = destination({ dest, sync: false, minLength: LOG_BUFFER_BYTES });
  // Flushed only when something was written since (a flush of nothing is still a write).
  let written = false;
  const write = stream.write.bind(stream);
  stream.write = (line: string) => {
    written = true;
    return write(line);
  };
  setInterval(() => {
    if (written && !(stream as { destroyed?: boolean }).destroyed) {
      written = false;
      stream.flush();
    }
  }, flushMs).unref();
  return stream;
}

/**
 * The request line's level: 500s and unexpected failures are errors; 503/504 are expected
 * answers (runner offline or slow, draining) that say so in their body — a warning, not a page;
 * probes stay at debug unless they fail outright.
 */
export function requestLogLevel(
  route: string,
  status: number,
  err?: Error,
): 'error' | 'warn' | 'info' | 'debug' {
  const expectedUnavailable = status === 503 || status === 504;
  if (PROBES.has(route) && (status < 500 || expectedUnavailable)) {
    return 'debug';
  }
  if (expectedUnavailable) {
    return 'warn';
  }
  if (err || status >= 500) {
    return 'error';
  }
  return 'info';
}
