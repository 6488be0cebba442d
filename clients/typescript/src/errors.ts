/** One entry of a 422 `detail` list (FastAPI's shape). */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/**
 * Every failure the client reports: an HTTP error answered by the server (`status` ≥ 400, with
 * the body's `code` and `message`), or one that never got an answer (`status` 0, code
 * `connection_error`, `invalid_url` or `stream_error`).
 */
export class OmnigentError extends Error {
  override readonly name = 'OmnigentError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: ValidationIssue[],
    options?: { cause?: unknown; requestId?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.requestId = options?.requestId;
  }

  /** The server's `X-Request-Id` for this failure, to quote in a bug report. */
  readonly requestId?: string;

  /** True when the server could not be reached at all (refused, reset, DNS, timeout). */
  get unreachable(): boolean {
    return this.status === 0 && this.code === 'connection_error';
  }

  /** Builds the error from a failed response and its (already read) body. */
  static fromResponse(response: Response, body: unknown): OmnigentError {
    const flat = (body ?? {}) as {
      code?: unknown;
      message?: unknown;
      detail?: unknown;
      error?: { code?: unknown; message?: unknown };
    };
    const code =
      str(flat.code) ??
      str(flat.error?.code) ??
      (response.status >= 500 ? 'server_error' : 'http_error');
    const message =
      str(flat.message) ??
      str(flat.error?.message) ??
      str(flat.detail) ??
      `HTTP ${response.status} ${response.statusText}`.trim();
    const detail = Array.isArray(flat.detail) ? (flat.detail as ValidationIssue[]) : undefined;
    return new OmnigentError(response.status, code, message, detail, {
      requestId: response.headers.get('x-request-id') ?? undefined,
    });
  }

  /** Wraps a fetch failure (no HTTP answer). */
  static connection(baseUrl: string, cause: unknown): OmnigentError {
    const reason = describeCause(cause);
    return new OmnigentError(
      0,
      'connection_error',
      `Cannot reach ${baseUrl}: ${reason}`,
      undefined,
      {
        cause,
      },
    );
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function describeCause(cause: unknown): string {
  // undici reports `fetch failed` and keeps the socket error (ECONNREFUSED, ENOTFOUND…) in `cause`.
  const inner = (cause as { cause?: { code?: string; message?: string } })?.cause;
  if (inner?.code) {
    return inner.code;
  }
  return inner?.message ?? (cause as Error)?.message ?? String(cause);
}
