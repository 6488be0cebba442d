/**
 * A start-up failure of the embedded database that the operator can act on. Its message is the
 * whole story (what went wrong and what to do), so it is printed as one line, without a stack.
 */
export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddedPostgresError';
    // No frames: loggers print the stack, and the message alone is what helps here.
    this.stack = `${this.name}: ${message}`;
  }
}
