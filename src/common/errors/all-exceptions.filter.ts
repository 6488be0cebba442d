import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { Request, Response } from 'express';

import { DomainError } from 'src/common/errors/domain.error';
import { errorBody, ErrorBody } from 'src/common/errors/error-body';
import { codeForStatus, ERROR_STATUS, ErrorCode } from 'src/common/errors/error-code';
import { UNSAFE_TEXT_MESSAGE } from 'src/common/validation/input-text.util';
import { RequestValidationError } from 'src/common/validation/request-validation.error';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

interface Mapped {
  status: number;
  body: ErrorBody;
  headers?: Record<string, string>;
}

const INTERNAL_MESSAGE = 'An internal error occurred.';

/**
 * The one place errors become HTTP answers (style rules 14–15): domain errors by their code,
 * validation failures as FastAPI-style 422s, framework errors by status, anything else as an
 * opaque 500 whose details only reach the log.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') {
      throw exception;
    }
    const http = host.switchToHttp();
    this.reply(exception, http.getRequest<Request>(), http.getResponse<Response>());
  }

  /** Answers `exception` on `res`: the filter's own answer, for handlers outside Nest too. */
  reply(exception: unknown, req: Request, res: Response): void {
    const mapped = this.map(exception, req);
    if (res.headersSent) {
      // Mid-stream: nothing can be answered any more.
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(mapped.headers ?? {})) {
      res.setHeader(name, value);
    }
    res.status(mapped.status).json(mapped.body);
  }

  map(exception: unknown, req?: Request): Mapped {
    // A domain error thrown in middleware or a body-parser hook reaches us wrapped by the adapter.
    if (exception instanceof HttpException && exception.cause instanceof DomainError) {
      exception = exception.cause;
    }
    if (exception instanceof RequestValidationError) {
      return {
        status: HttpStatus.UNPROCESSABLE_ENTITY,
        body: errorBody(exception.code, exception.message, { detail: exception.detail }),
      };
    }
    if (exception instanceof DomainError) {
      return {
        status: ERROR_STATUS[exception.code],
        body: errorBody(exception.code, exception.message, exception.extra),
        headers:
          exception.code === ErrorCode.Unauthorized
            ? { 'WWW-Authenticate': 'Bearer error="invalid_token"' }
            : undefined,
      };
    }
    // A path segment that is not valid percent-encoded UTF-8 names nothing: 404, as any
    // malformed id (spec/README.md §4), not Express's 400.
    if (exception instanceof HttpException && exception.cause instanceof URIError) {
      return { status: HttpStatus.NOT_FOUND, body: errorBody(ErrorCode.NotFound, 'Not found.') };
    }
    // Express's adapter wraps body-parser errors in an HttpException: map the original.
    const parserError =
      this.bodyParserError(exception) ?? this.bodyParserError((exception as Error)?.cause);
    if (parserError) {
      return parserError;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = codeForStatus(status);
      const message = status >= 500 ? INTERNAL_MESSAGE : this.httpMessage(exception);
      if (status >= 500) {
        this.logger.error(
          `${req?.method} ${req?.originalUrl}: ${exception.message}`,
          exception.stack,
        );
      }
      return { status, body: errorBody(code, message) };
    }
    if (this.isUniqueViolation(exception)) {
      return {
        status: HttpStatus.CONFLICT,
        body: errorBody(ErrorCode.Conflict, 'Resource already exists'),
      };
    }
    if (this.isUnstorableText(exception)) {
      // The input guard should have caught this: say so in the log, answer what it would have.
      this.logger.warn(`${req?.method} ${req?.originalUrl}: text the database refused got through`);
      return this.map(
        new RequestValidationError([
          { loc: ['body'], msg: UNSAFE_TEXT_MESSAGE, type: 'string_unicode', input: null },
        ]),
      );
    }
    const err = exception instanceof Error ? exception : new Error(String(exception));
    this.logger.error(`${req?.method} ${req?.originalUrl} failed: ${err.message}`, err.stack);
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: errorBody(ErrorCode.InternalError, INTERNAL_MESSAGE),
    };
  }

  private httpMessage(exception: HttpException): string {
    const response = exception.getResponse();
    if (typeof response === 'string') {
      return response;
    }
    const message = (response as { message?: unknown }).message;
    if (Array.isArray(message)) {
      return message.join('; ');
    }
    return typeof message === 'string' ? message : exception.message;
  }

  private bodyParserError(exception: unknown): Mapped | null {
    const err = exception as BodyParserError;
    if (!(exception instanceof Error) || typeof err.type !== 'string') {
      return null;
    }
    switch (err.type) {
      case 'entity.parse.failed':
        // FastAPI's answer (style rule 15). The parser's own message can quote the body: it stays
        // out of the answer.
        return this.map(
          new RequestValidationError([
            { loc: ['body'], msg: 'JSON decode error', type: 'json_invalid', input: {} },
          ]),
        );
      case 'entity.too.large':
        return {
          status: HttpStatus.PAYLOAD_TOO_LARGE,
          body: errorBody(
            ErrorCode.PayloadTooLarge,
            `Request body exceeds the limit of ${err.limit} bytes`,
          ),
        };
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return {
          status: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
          body: errorBody(ErrorCode.UnsupportedMediaType, err.message),
        };
      case 'request.aborted':
        return {
          status: HttpStatus.BAD_REQUEST,
          body: errorBody(ErrorCode.InvalidInput, 'Request aborted'),
        };
      default:
        return typeof err.status === 'number' && err.status < 500
          ? { status: err.status, body: errorBody(codeForStatus(err.status), err.message) }
          : null;
    }
  }

  private isUniqueViolation(exception: unknown): boolean {
    return this.driverCode(exception) === '23505';
  }

  // 22021: a NUL in text ("invalid byte sequence"); 22P05: `\u0000` in jsonb. Both can only come
  // from a request's text, never from the server's own values.
  private isUnstorableText(exception: unknown): boolean {
    const code = this.driverCode(exception);
    return code === '22021' || code === '22P05';
  }

  private driverCode(exception: unknown): string | undefined {
    return (exception as { driverError?: { code?: string } } | null)?.driverError?.code;
  }
}
