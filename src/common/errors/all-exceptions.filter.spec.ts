import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';

import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { DomainError } from 'src/common/errors/domain.error';
import { ERROR_STATUS, ErrorCode } from 'src/common/errors/error-code';
import { RequestValidationError } from 'src/common/validation/request-validation.error';

function parserError(type: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`body-parser: ${type}`), { type, ...extra });
}

describe(AllExceptionsFilter.name, () => {
  let filter: AllExceptionsFilter;
  let logError: jest.SpyInstance;

  beforeEach(() => {
    logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    filter = new AllExceptionsFilter();
  });

  afterEach(() => {
    logError.mockRestore();
  });

  describe('map', () => {
    it.each(Object.values(ErrorCode))('should map the domain code %p to its status', (code) => {
      const mapped = filter.map(new DomainError(code, `message for ${code}`));
      expect(mapped.status).toBe(ERROR_STATUS[code]);
      expect(mapped.body).toEqual({
        code,
        message: `message for ${code}`,
        error: { code, message: `message for ${code}` },
      });
    });

    it('should add the Bearer challenge to unauthorized errors only', () => {
      expect(
        filter.map(new DomainError(ErrorCode.Unauthorized, 'Authentication required')).headers,
      ).toEqual({ 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      expect(filter.map(new DomainError(ErrorCode.Forbidden, 'No')).headers).toBeUndefined();
    });

    it('should keep the extra fields of a domain error next to the envelope', () => {
      const mapped = filter.map(
        new DomainError(ErrorCode.RunnerUnavailable, 'Runner is offline', { retry_after: 5 }),
      );
      expect(mapped.body).toEqual({
        retry_after: 5,
        code: 'runner_unavailable',
        message: 'Runner is offline',
        error: { code: 'runner_unavailable', message: 'Runner is offline' },
      });
    });

    it('should not let extra fields override the code or message', () => {
      const mapped = filter.map(
        new DomainError(ErrorCode.NotFound, 'Gone', { code: 'x', message: 'y', error: 'z' }),
      );
      expect(mapped.body).toEqual({
        code: 'not_found',
        message: 'Gone',
        error: { code: 'not_found', message: 'Gone' },
      });
    });

    it('should map a validation error to a 422 with the FastAPI detail', () => {
      const detail = [
        { loc: ['body', 'agent_id'], msg: 'Field required', type: 'missing', input: null },
      ];
      const mapped = filter.map(new RequestValidationError(detail));
      expect(mapped.status).toBe(422);
      expect(mapped.body).toEqual({
        detail,
        code: 'validation_error',
        message: 'Request validation failed: agent_id: Field required',
        error: {
          code: 'validation_error',
          message: 'Request validation failed: agent_id: Field required',
        },
      });
      expect(mapped.headers).toBeUndefined();
    });

    it('should map a Nest NotFoundException to 404 not_found', () => {
      const mapped = filter.map(new NotFoundException('Cannot GET /nope'));
      expect(mapped.status).toBe(404);
      expect(mapped.body).toEqual({
        code: 'not_found',
        message: 'Cannot GET /nope',
        error: { code: 'not_found', message: 'Cannot GET /nope' },
      });
      expect(mapped.body).not.toHaveProperty('statusCode');
    });

    it('should map other HTTP exceptions by status', () => {
      expect(filter.map(new ForbiddenException()).body.code).toBe('forbidden');
      expect(filter.map(new HttpException('Teapot', 418)).body.code).toBe('invalid_input');
      const bad = filter.map(new BadRequestException(['a is bad', 'b is bad']));
      expect(bad.status).toBe(400);
      expect(bad.body.message).toBe('a is bad; b is bad');
    });

    it('should hide the message of a 5xx HTTP exception', () => {
      const mapped = filter.map(new ServiceUnavailableException('pool exhausted at 10.0.0.3'));
      expect(mapped.status).toBe(503);
      expect(mapped.body).toEqual({
        code: 'service_unavailable',
        message: 'An internal error occurred.',
        error: { code: 'service_unavailable', message: 'An internal error occurred.' },
      });
    });

    it('should map a malformed JSON body to a client error in the error envelope', () => {
      const mapped = filter.map(parserError('entity.parse.failed', { status: 400 }));
      expect(mapped.status).toBeGreaterThanOrEqual(400);
      expect(mapped.status).toBeLessThan(500);
      expect(mapped.body.error).toEqual({ code: mapped.body.code, message: mapped.body.message });
      expect(logError).not.toHaveBeenCalled();
    });

    // Style rule 15 and upstream (issue 7): 422 with a json_invalid entry, our code/message, and
    // a fixed text that cannot quote the body.
    it('should map a malformed JSON body to 422 json_invalid without echoing the body', () => {
      const mapped = filter.map(
        parserError('entity.parse.failed', { status: 400, body: '{"secret": "do-not-echo",' }),
      );
      expect(mapped.status).toBe(422);
      expect(mapped.body).toEqual({
        detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid', input: {} }],
        code: 'validation_error',
        message: 'Request validation failed: JSON decode error',
        error: {
          code: 'validation_error',
          message: 'Request validation failed: JSON decode error',
        },
      });
      expect(JSON.stringify(mapped.body)).not.toContain('do-not-echo');
    });

    it('should unwrap body-parser errors wrapped in an HttpException (as the Express adapter does)', () => {
      const wrapped = new HttpException('Bad Request', 400, {
        cause: parserError('entity.parse.failed', { status: 400 }),
      });
      expect(filter.map(wrapped).body.detail).toEqual([
        expect.objectContaining({ type: 'json_invalid' }),
      ]);
    });

    it('should unwrap a domain error that middleware passed on wrapped in an HttpException', () => {
      const cause = new RequestValidationError([
        { loc: ['body'], msg: 'JSON nested deeper than 64 levels', type: 'json_invalid' },
      ]);
      const mapped = filter.map(new HttpException('Forbidden', 403, { cause }));
      expect(mapped.status).toBe(422);
      expect(mapped.body.detail).toEqual(cause.detail);
    });

    it('should map an undecodable path parameter (Express URIError) to 404 like a malformed id', () => {
      const uriError = Object.assign(new URIError("Failed to decode param '%FF'"), { status: 400 });
      const mapped = filter.map(new BadRequestException(uriError.message, { cause: uriError }));
      expect(mapped.status).toBe(404);
      expect(mapped.body).toEqual({
        code: 'not_found',
        message: 'Not found.',
        error: { code: 'not_found', message: 'Not found.' },
      });
    });

    it('should map a body over the limit to 413 payload_too_large', () => {
      const mapped = filter.map(parserError('entity.too.large', { status: 413, limit: 2048 }));
      expect(mapped.status).toBe(413);
      expect(mapped.body).toEqual({
        code: 'payload_too_large',
        message: 'Request body exceeds the limit of 2048 bytes',
        error: {
          code: 'payload_too_large',
          message: 'Request body exceeds the limit of 2048 bytes',
        },
      });
    });

    // What Nest 12's Express adapter actually hands the filter: body-parser errors wrapped in
    // HttpExceptions (ExpressAdapter.mapException), the raw error as the cause.
    it('should map the wrapped body-parser errors Nest passes on by status', () => {
      const syntax = Object.assign(new SyntaxError('Unexpected token'), {
        status: 400,
        type: 'entity.parse.failed',
      });
      const malformed = filter.map(new BadRequestException(syntax.message, { cause: syntax }));
      expect(malformed.status).toBe(422);
      expect(malformed.body.code).toBe('validation_error');
      const large = parserError('entity.too.large', { status: 413, limit: 2048 });
      const tooLarge = filter.map(
        new HttpException('request entity too large', 413, { cause: large }),
      );
      expect(tooLarge.status).toBe(413);
      expect(tooLarge.body.code).toBe('payload_too_large');
    });

    it('should map an unsupported body charset to 415', () => {
      const mapped = filter.map(parserError('charset.unsupported', { status: 415 }));
      expect(mapped.status).toBe(415);
      expect(mapped.body.code).toBe('unsupported_media_type');
    });

    it('should map a unique violation to 409 conflict without the SQL', () => {
      const error = Object.assign(
        new Error('duplicate key value violates unique constraint "sessions_pkey"'),
        {
          query: 'INSERT INTO "sessions" ("id") VALUES ($1)',
          driverError: { code: '23505', detail: 'Key (id)=(conv_1) already exists.' },
        },
      );
      const mapped = filter.map(error);
      expect(mapped.status).toBe(409);
      expect(mapped.body).toEqual({
        code: 'conflict',
        message: 'Resource already exists',
        error: { code: 'conflict', message: 'Resource already exists' },
      });
    });

    it('should map text the database refused (NUL, bad escapes) to 422, never a 500', () => {
      const logWarn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      for (const code of ['22021', '22P05']) {
        const error = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
          driverError: { code },
        });
        const mapped = filter.map(error);
        expect(mapped.status).toBe(422);
        expect(mapped.body.code).toBe('validation_error');
        expect(mapped.body.detail).toEqual([
          expect.objectContaining({ loc: ['body'], type: 'string_unicode' }),
        ]);
        expect(JSON.stringify(mapped.body)).not.toContain('0x00');
      }
      expect(logWarn).toHaveBeenCalledTimes(2);
      expect(logError).not.toHaveBeenCalled();
      logWarn.mockRestore();
    });

    it('should map a plain error to an opaque 500 and log it in full', () => {
      const error = new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
      const mapped = filter.map(error);
      expect(mapped.status).toBe(500);
      expect(mapped.body).toEqual({
        code: 'internal_error',
        message: 'An internal error occurred.',
        error: { code: 'internal_error', message: 'An internal error occurred.' },
      });
      const wire = JSON.stringify(mapped.body);
      for (const leak of ['ECONNREFUSED', '10.0.0.7', 'hunter2', 'Error', 'stack']) {
        expect(wire).not.toContain(leak);
      }
      expect(logError).toHaveBeenCalledWith(
        expect.stringContaining('ECONNREFUSED 10.0.0.7:5432'),
        error.stack,
      );
    });

    it('should map a thrown non-error to an opaque 500', () => {
      const mapped = filter.map({ secret: 'x' });
      expect(mapped.status).toBe(500);
      expect(JSON.stringify(mapped.body)).not.toContain('secret');
      expect(filter.map('boom').body.message).toBe('An internal error occurred.');
      expect(filter.map(null).status).toBe(500);
    });
  });
});
