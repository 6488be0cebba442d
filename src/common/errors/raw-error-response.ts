import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { Duplex } from 'node:stream';

import { DomainError } from 'src/common/errors/domain.error';
import { errorBody } from 'src/common/errors/error-body';
import { ERROR_STATUS, ErrorCode } from 'src/common/errors/error-code';

/**
 * A whole HTTP/1.1 error response as text, for sockets that never reached Express (a refused
 * WebSocket upgrade, a request Node's parser rejected): the same error body and `X-Request-Id`
 * as every route, and `Connection: close`.
 */
export function rawErrorResponse(
  status: number,
  code: string,
  message: string,
  extraHeaders: string[] = [],
): string {
  const body = JSON.stringify(errorBody(code, message));
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${randomBytes(16).toString('hex')}`,
    'Connection: close',
    ...extraHeaders,
    '',
    body,
  ].join('\r\n');
}

/**
 * Answers a refused upgrade with the status the error table gives a `DomainError`, then closes
 * the socket. Anything that is not a `DomainError` becomes an opaque 500.
 */
export function writeRawErrorResponse(socket: Duplex, error: unknown): void {
  const known = error instanceof DomainError;
  const code = known ? error.code : ErrorCode.InternalError;
  const message = known ? error.message : 'An internal error occurred.';
  const status = ERROR_STATUS[code];
  const challenge = status === 401 ? ['WWW-Authenticate: Bearer error="invalid_token"'] : [];
  socket.end(rawErrorResponse(status, code, message, challenge));
}
