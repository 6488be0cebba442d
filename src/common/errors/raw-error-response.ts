import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { Duplex } from 'node:stream';

import { DomainError } from 'src/common/errors/domain.error';
import { errorBody } from 'src/common/errors/error-body';
import { ERROR_STATUS, ErrorCode } from 'src/common/errors/error-code';

/**
 * Answers on a raw socket that never reached Express (a refused WebSocket upgrade) with the same
 * status table and error body as every HTTP route, then closes it. Anything that is not a
 * `DomainError` becomes an opaque 500.
 */
export function writeRawErrorResponse(socket: Duplex, error: unknown): void {
  const known = error instanceof DomainError;
  const code = known ? error.code : ErrorCode.InternalError;
  const message = known ? error.message : 'An internal error occurred.';
  const status = ERROR_STATUS[code];
  const body = JSON.stringify(errorBody(code, message));
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${randomBytes(16).toString('hex')}`,
    'Connection: close',
    ...(status === 401 ? ['WWW-Authenticate: Bearer error="invalid_token"'] : []),
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}
