import { ErrorCode } from 'src/common/errors/error-code';

/**
 * The only error services throw. The code decides the HTTP status (ERROR_STATUS); the message is
 * shown to the client as is, so it must never carry internals.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
