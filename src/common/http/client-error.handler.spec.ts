import { EventEmitter } from 'node:events';
import { Server } from 'node:http';
import { Duplex } from 'node:stream';

import { clientErrorResponse, handleClientErrors } from 'src/common/http/client-error.handler';

function parse(raw: string) {
  const [head, body] = raw.split('\r\n\r\n');
  const [statusLine, ...headers] = head.split('\r\n');
  return { statusLine, headers, body: JSON.parse(body) as Record<string, unknown>, raw };
}

class FakeSocket extends Duplex {
  written = '';
  ended = false;
  destroyedWith: unknown = 'not destroyed';
  _httpMessage?: { headersSent: boolean };

  override _read(): void {}

  override end(chunk?: unknown): this {
    this.written += String(chunk ?? '');
    this.ended = true;
    return this;
  }

  override destroy(error?: Error): this {
    this.destroyedWith = error ?? null;
    return this;
  }
}

describe('client-error.handler', () => {
  describe(clientErrorResponse.name, () => {
    it.each([
      ['HPE_HEADER_OVERFLOW', 431, 'Request Header Fields Too Large', 'invalid_input'],
      ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 413, 'Payload Too Large', 'payload_too_large'],
      ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'Request Timeout', 'invalid_input'],
      ['HPE_INVALID_METHOD', 400, 'Bad Request', 'invalid_input'],
      [undefined, 400, 'Bad Request', 'invalid_input'],
    ])('should answer %s with %d and the error body', (code, status, reason, wireCode) => {
      const { statusLine, headers, body, raw } = parse(clientErrorResponse(code));
      expect(statusLine).toBe(`HTTP/1.1 ${status} ${reason}`);
      expect(body).toEqual({
        code: wireCode,
        message: expect.any(String),
        error: { code: wireCode, message: body.message },
      });
      expect(headers).toContain('Content-Type: application/json; charset=utf-8');
      expect(headers).toContain('Connection: close');
      expect(headers.find((h) => h.startsWith('X-Request-Id: '))).toMatch(
        /^X-Request-Id: [0-9a-f]{32}$/,
      );
      const length = Number(headers.find((h) => h.startsWith('Content-Length: '))?.split(': ')[1]);
      expect(length).toBe(Buffer.byteLength(raw.split('\r\n\r\n')[1]));
    });
  });

  describe(handleClientErrors.name, () => {
    const emitOn = (socket: FakeSocket, code: string) => {
      const server = new EventEmitter() as Server;
      handleClientErrors(server);
      server.emit('clientError', Object.assign(new Error(code), { code }), socket);
    };

    it('should write the answer and end the socket', () => {
      const socket = new FakeSocket();
      emitOn(socket, 'HPE_HEADER_OVERFLOW');
      expect(socket.ended).toBe(true);
      expect(socket.written).toMatch(/^HTTP\/1\.1 431 /);
    });

    it('should not answer a reset peer', () => {
      const socket = new FakeSocket();
      emitOn(socket, 'ECONNRESET');
      expect(socket.written).toBe('');
      expect(socket.destroyedWith).toBeNull();
    });

    it('should not write into a response that has already started', () => {
      const socket = new FakeSocket();
      socket._httpMessage = { headersSent: true };
      emitOn(socket, 'HPE_INVALID_CHUNK_SIZE');
      expect(socket.written).toBe('');
      expect(socket.destroyedWith).toBeNull();
    });
  });
});
