import { PassThrough } from 'node:stream';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { writeRawErrorResponse } from 'src/common/errors/raw-error-response';

function answer(error: unknown): { head: string[]; body: unknown } {
  const socket = new PassThrough();
  writeRawErrorResponse(socket, error);
  const raw = String(socket.read());
  const [head, body] = raw.split('\r\n\r\n');
  return { head: head.split('\r\n'), body: JSON.parse(body) };
}

describe(writeRawErrorResponse.name, () => {
  it('should answer a domain error with its status from the error table and the error body', () => {
    const { head, body } = answer(new DomainError(ErrorCode.Conflict, 'Taken'));
    expect(head[0]).toBe('HTTP/1.1 409 Conflict');
    expect(head).toEqual(expect.arrayContaining(['Content-Type: application/json; charset=utf-8']));
    expect(head.some((h) => /^X-Request-Id: [0-9a-f]{32}$/.test(h))).toBe(true);
    expect(body).toEqual({
      code: 'conflict',
      message: 'Taken',
      error: { code: 'conflict', message: 'Taken' },
    });
  });

  it('should add the Bearer challenge to a 401', () => {
    const { head } = answer(new DomainError(ErrorCode.Unauthorized, 'Authentication required'));
    expect(head[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(head).toContain('WWW-Authenticate: Bearer error="invalid_token"');
  });

  it('should keep anything else opaque as a 500', () => {
    const { head, body } = answer(new Error('relation "runners" does not exist'));
    expect(head[0]).toBe('HTTP/1.1 500 Internal Server Error');
    expect(body).toMatchObject({ code: 'internal_error', message: 'An internal error occurred.' });
  });

  it('should state the exact body length', () => {
    const socket = new PassThrough();
    writeRawErrorResponse(socket, new DomainError(ErrorCode.NotFound, 'Not found — ünïcode'));
    const raw = String(socket.read());
    const length = Number(/Content-Length: (\d+)/.exec(raw)?.[1]);
    expect(Buffer.byteLength(raw.split('\r\n\r\n')[1])).toBe(length);
  });
});
