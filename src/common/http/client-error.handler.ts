import { Server } from 'node:http';
import { Duplex } from 'node:stream';

import { codeForStatus } from 'src/common/errors/error-code';
import { rawErrorResponse } from 'src/common/errors/raw-error-response';

const REASONS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request headers are too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Chunk extensions of the request body are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request was not received in time'],
};
const LINGER_MS = 1000;
const BAD_REQUEST: [number, string] = [400, 'Malformed HTTP request'];

/**
 * The raw HTTP answer Node would send for a request its parser rejected (400, 431, 408, …),
 * with our error body instead of an empty one (style rule 15). Written straight to the socket:
 * no request object exists at this point.
 */
export function clientErrorResponse(code: string | undefined): string {
  const [status, message] = REASONS[code ?? ''] ?? BAD_REQUEST;
  return rawErrorResponse(status, codeForStatus(status), message);
}

/**
 * Replaces Node's default `clientError` handling with the same statuses under the same
 * conditions (only when no in-flight response has started writing, never to a reset peer), so
 * these answers carry the error body too.
 */
export function handleClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Node's own handler checks the same in-flight response (`_httpMessage`) before answering.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
      // A half-close lets the client read the answer; a peer that never closes is cut off.
      socket.end(clientErrorResponse(error.code));
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
      return;
    }
    socket.destroy();
  });
}
