import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import type { Logger } from 'pino';
import { Options, pinoHttp } from 'pino-http';

import {
  bufferedLines,
  LOG_BUFFER_BYTES,
  loggerParams,
  logRequestLine,
  requestLineWriter,
  requestLogLevel,
  syncLines,
} from 'src/common/logging/pino-options.util';
import { getConfig } from 'src/config/app-config';

/** pino-http's options of the app's JSON logging (without its destination). */
function jsonOptions(): Options {
  return (loggerParams(getConfig({ OMNIGENT_LOG_FORMAT: 'json' })).pinoHttp as [Options])[0];
}

describe('requestLogLevel', () => {
  it('should log plain requests at info and failures at error', () => {
    expect(requestLogLevel('/v1/sessions', 200)).toBe('info');
    expect(requestLogLevel('/v1/sessions', 404)).toBe('info');
    expect(requestLogLevel('/v1/sessions', 500)).toBe('error');
    expect(requestLogLevel('/v1/sessions', 200, new Error('socket hang up'))).toBe('error');
  });

  it('should log the expected 503 and 504 (runner offline or slow) as warnings', () => {
    expect(requestLogLevel('/v1/sessions/:session_id/events', 503, new Error('failed'))).toBe(
      'warn',
    );
    expect(requestLogLevel('/v1/hosts/:host_id/runners', 504, new Error('failed'))).toBe('warn');
  });

  it('should keep probes at debug, draining included, unless they fail outright', () => {
    expect(requestLogLevel('/health', 200)).toBe('debug');
    expect(requestLogLevel('/ready', 503, new Error('failed'))).toBe('debug');
    expect(requestLogLevel('/ready', 500)).toBe('error');
  });
});

describe('logRequestLine', () => {
  /** pino-http with the app's options, writing to `lines`; and the request line it writes. */
  function viaPinoHttp(lines: Record<string, unknown>[], status: number) {
    const options = jsonOptions();
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const middleware = pinoHttp(options, stream);
    const req = Object.assign(new EventEmitter(), {
      method: 'GET',
      url: '/v1/sessions/conv_1?token=abc',
      originalUrl: '/v1/sessions/conv_1?token=abc',
      headers: {},
      id: 'req-1',
      route: { path: '/v1/sessions/:session_id' },
      baseUrl: '',
      principal: { userId: 'alice' },
    });
    const res = Object.assign(new EventEmitter(), { statusCode: status });
    middleware(req as never, res as never, () => undefined);
    res.emit('finish');
    return { req, res, log: middleware.logger.child({ reqId: 'req-1' }) };
  }

  it.each([200, 404, 500])('should write the line pino-http writes for a %i', (status) => {
    const lines: Record<string, unknown>[] = [];
    const { req, res, log } = viaPinoHttp(lines, status);
    logRequestLine(log, req as never, res as never, 0);
    expect(lines).toHaveLength(2);
    const [expected, written] = lines.map(({ time: _time, ms: _ms, msg, ...rest }) => ({
      ...rest,
      msg: String(msg).replace(/ \d+ms$/, ''),
    }));
    expect(written).toEqual(expected);
    expect(written).toMatchObject({ reqId: 'req-1', route: '/v1/sessions/:session_id', status });
  });
});

describe('requestLineWriter', () => {
  /** The app's root logger (pino-http's, JSON lines) writing raw lines to `lines`. */
  function rootLogger(lines: string[], extra: Partial<Options> = {}): Logger {
    const options = jsonOptions();
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    return pinoHttp({ ...options, ...extra }, stream).logger as Logger;
  }

  const request = (url: string, route: string | undefined, user?: string) =>
    ({
      method: 'GET',
      url,
      originalUrl: url,
      headers: { authorization: 'Bearer secret-token' },
      route: route === undefined ? undefined : { path: route },
      baseUrl: '',
      principal: user === undefined ? undefined : { userId: user },
    }) as never;

  const cases: [string, string, string | undefined, number, string | undefined][] = [
    ['a snapshot', '/v1/sessions/conv_1', '/v1/sessions/:session_id', 200, 'alice'],
    ['a 304', '/v1/sessions/conv_1', '/v1/sessions/:session_id', 304, 'local'],
    ['a secret query', '/v1/sessions?limit=2&token=abc&access_token=x', '/v1/sessions', 200, 'a'],
    ['odd text', '/v1/sessions?q="\\%s\u0001é', '/v1/sessions', 422, 'u"\ud800'],
    ['no principal', '/v1/sessions/conv_1/items', '/v1/sessions/:session_id/items', 401, undefined],
    ['no route', '/v1/nowhere', undefined, 404, undefined],
    ['a 503 (warn)', '/v1/sessions', '/v1/sessions', 503, 'alice'],
    ['a 500 (error)', '/v1/sessions', '/v1/sessions', 500, 'alice'],
    ['a long url', `/v1/sessions?agent_name=${'x'.repeat(300)}`, '/v1/sessions', 200, 'alice'],
  ];

  beforeEach(() => jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2026, 11, 3, 12)));
  afterEach(() => jest.restoreAllMocks());

  it.each(cases)(
    'should write the bytes logRequestLine writes through the child: %s',
    (_name, url, route, status, user) => {
      const lines: string[] = [];
      const root = rootLogger(lines);
      const res = { statusCode: status } as never;
      for (const reqId of ['req-1', undefined]) {
        logRequestLine(reqId ? root.child({ reqId }) : root, request(url, route, user), res, 7);
        requestLineWriter(root)(reqId, request(url, route, user), res, 7);
      }
      expect(lines).toHaveLength(4);
      expect(lines[1]).toBe(lines[0]);
      expect(lines[3]).toBe(lines[2]);
      expect(lines[0]).not.toContain('secret-token');
    },
  );

  it('should build the line itself, without a child logger, when pino allows', () => {
    const lines: string[] = [];
    const root = rootLogger(lines);
    const write = requestLineWriter(root);
    // (Its self-check at construction made children; a line makes none.)
    const child = jest.spyOn(root, 'child');
    write('req-1', request('/v1/sessions', '/v1/sessions', 'a'), { statusCode: 200 } as never, 1);
    expect(child).not.toHaveBeenCalled();
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'info', reqId: 'req-1', status: 200 });
  });

  it('should leave the line to pino when its configuration could change it', () => {
    const lines: string[] = [];
    const mixin = () => ({ extra: 1 });
    const root = rootLogger(lines, { mixin } as Partial<Options>);
    const req = request('/v1/sessions', '/v1/sessions', 'a');
    logRequestLine(root.child({ reqId: 'r' }), req, { statusCode: 200 } as never, 1);
    requestLineWriter(root)('r', req, { statusCode: 200 } as never, 1);
    expect(lines[1]).toBe(lines[0]);
    expect(JSON.parse(lines[1])).toMatchObject({ extra: 1, reqId: 'r' });
  });

  it('should write nothing at a level the logger does not write (probes at debug)', () => {
    const lines: string[] = [];
    const root = rootLogger(lines);
    requestLineWriter(root)('r', request('/health', '/health'), { statusCode: 200 } as never, 1);
    expect(lines).toEqual([]);
  });
});

describe('log destinations (OMNIGENT_LOG_SYNC)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'log-lines-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('should hold short lines until the timer, and write a full buffer at once', async () => {
    const file = join(dir, 'lines.log');
    const stream = bufferedLines(file, 50);
    await new Promise((resolve) => stream.once('ready', resolve));
    stream.write('{"a":1}\n');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(readFileSync(file, 'utf8')).toBe('');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n');
    const long = `${'x'.repeat(LOG_BUFFER_BYTES)}\n`;
    stream.write(long);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(readFileSync(file, 'utf8')).toBe(`{"a":1}\n${long}`);
    stream.end();
  });

  it('should be the JSON destination when lines are not synchronous, and syncLines otherwise', () => {
    const destinationOf = (env: Record<string, string>) =>
      (
        loggerParams(getConfig({ OMNIGENT_LOG_FORMAT: 'json', ...env })).pinoHttp as [
          Options,
          { minLength: number; sync: boolean },
        ]
      )[1];
    expect(destinationOf({})).toMatchObject({ sync: true, minLength: 0 });
    expect(destinationOf({ OMNIGENT_LOG_SYNC: 'true' })).toMatchObject({ sync: true });
    expect(destinationOf({ OMNIGENT_LOG_SYNC: 'false' })).toMatchObject({
      sync: false,
      minLength: LOG_BUFFER_BYTES,
    });
  });

  it('should have written a line when syncLines returns from write (OMNIGENT_LOG_SYNC=true)', () => {
    const file = join(dir, 'sync.log');
    const stream = syncLines(file);
    stream.write('{"a":1}\n');
    // No await: the bytes are in the file when write returns.
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n');
    stream.end();
  });
});
