/** A small HTTP client for the CLI commands that talk to a server (chat). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SseFrame {
  event?: string;
  id?: string;
  data: string;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      Origin: 'omnigent://internal',
      ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
      ...extra,
    };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: this.headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(
        0,
        'connection_error',
        `Cannot reach ${this.baseUrl}: ${(error as Error).cause ?? (error as Error).message}`,
      );
    }
    const text = await res.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!res.ok) {
      const err = parsed as { code?: string; message?: string } | undefined;
      throw new ApiError(
        res.status,
        err?.code ?? 'http_error',
        err?.message ?? `HTTP ${res.status}`,
      );
    }
    return parsed as T;
  }

  /** Opens an SSE stream; yields frames until the server ends it or `signal` aborts. */
  async *stream(path: string, signal: AbortSignal): AsyncGenerator<SseFrame> {
    const res = await fetch(new URL(path, this.baseUrl), {
      headers: this.headers({ Accept: 'text/event-stream' }),
      signal,
    });
    if (!res.ok || !res.body) {
      const err = safeJson(await res.text()) as { code?: string; message?: string } | undefined;
      throw new ApiError(
        res.status,
        err?.code ?? 'http_error',
        err?.message ?? `HTTP ${res.status}`,
      );
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const frame: SseFrame = { data: '' };
        for (const line of raw.split('\n')) {
          if (line.startsWith('event: ')) {
            frame.event = line.slice(7);
          } else if (line.startsWith('id: ')) {
            frame.id = line.slice(4);
          } else if (line.startsWith('data: ')) {
            frame.data += line.slice(6);
          }
        }
        if (frame.data) {
          yield frame;
        }
      }
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
