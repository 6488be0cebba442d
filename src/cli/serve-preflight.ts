import { Client } from 'pg';

/** A start-up failure the operator can fix: printed as one line, without a stack. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

const CONNECT_TIMEOUT_MS = 5_000;

/** `host:port` of a postgres URL, for messages (never the password). */
export function databaseHost(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Connects once before anything else starts, so a wrong or unreachable DATABASE_URL fails in
 * seconds with one line instead of TypeORM's retries with stack traces.
 */
export async function checkDatabase(url: string): Promise<void> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A stray network error after the check must not crash the process.
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    const err = error as Error & { code?: string };
    const why =
      err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message;
    throw new StartupError(
      `Cannot reach the database at ${databaseHost(url)} (DATABASE_URL): ${why || 'connection failed'}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
