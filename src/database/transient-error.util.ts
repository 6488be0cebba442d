import { setTimeout as sleep } from 'node:timers/promises';

/** SQLSTATE classes and codes after which the same statement may succeed on a new connection. */
const TRANSIENT_SQLSTATES = ['08', '57P', '40001', '40P01', '53300'];
/** Socket errors of the driver's connection. */
const TRANSIENT_SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);
/** node-postgres says these without a code when the server or the network drops the connection. */
const TRANSIENT_MESSAGE =
  /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect/i;

/**
 * Whether a database error is the connection's rather than the statement's: a terminated backend
 * (`pg_terminate_backend`, a failover, a restart), a reset socket, a serialization failure. The
 * same unit of work may succeed when retried; a constraint or data error never will.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) {
    return false;
  }
  const withCode = error as Error & { code?: unknown; driverError?: { code?: unknown } };
  const code = withCode.code ?? withCode.driverError?.code;
  if (typeof code === 'string' && code.length > 0) {
    return (
      TRANSIENT_SOCKET_CODES.has(code) ||
      TRANSIENT_SQLSTATES.some((prefix) => code.startsWith(prefix))
    );
  }
  return TRANSIENT_MESSAGE.test(error.message);
}

export interface RetryTransientOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Backoff doubles from 50 ms up to this. */
  maxDelayMs: number;
  /** Checked before each retry: true stops retrying (the error is rethrown). */
  stop?(): boolean;
  onRetry?(error: Error, attempt: number): void;
}

/**
 * Runs `work` again while it fails with a transient database error (see above), backing off;
 * any other error, the last attempt's error, or `stop()` rethrows. `work` must be idempotent.
 */
export async function retryTransient<T>(
  work: () => Promise<T>,
  options: RetryTransientOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (
        !isTransientDatabaseError(error) ||
        attempt >= options.attempts ||
        options.stop?.() === true
      ) {
        throw error;
      }
      options.onRetry?.(error as Error, attempt);
      await sleep(Math.min(options.maxDelayMs, 25 * 2 ** attempt));
    }
  }
}
