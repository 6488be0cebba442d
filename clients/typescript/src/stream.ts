import { OmnigentError } from './errors.js';
import type { StreamEvent } from './generated/stream-events.js';
import { sseMessages } from './sse-messages.js';

export interface ReconnectOptions {
  /** Consecutive failed attempts before the stream gives up (default 10; 0 disables reconnect). */
  maxAttempts?: number;
  /** First delay between attempts in ms, doubled up to `maxDelayMs` (defaults 250 and 5000). */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export interface SessionStreamOptions {
  /**
   * Resume after this event id (`Last-Event-ID`): the server replays every durable event after it,
   * then the live tail. `'0'` replays the session from its start. Without it the stream begins
   * with the live tail, as upstream's does.
   */
  lastEventId?: string;
  /** Aborting ends the iteration quietly (no error). */
  signal?: AbortSignal;
  reconnect?: ReconnectOptions;
  /** Called before each reconnect attempt, e.g. to tell a user. */
  onReconnect?: (info: { attempt: number; lastEventId?: string; error: unknown }) => void;
}

/** What the stream needs from the client: URL, headers and fetch. */
export interface StreamTransport {
  url: string;
  baseUrl: string;
  headers: () => Record<string, string>;
  fetch: typeof fetch;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/**
 * A session's event stream as an async iterator of typed events. A dropped connection is
 * re-opened with `Last-Event-ID`, so durable events are never lost (transient ones, such as text
 * deltas sent while disconnected, are: the final `response.output_item.done` carries the whole
 * text). The iteration ends when the server closes the stream cleanly (`[DONE]`), on `close()`,
 * or when `signal` aborts; it throws an `OmnigentError` when the server refuses the stream (401,
 * 404…) or stays unreachable for `reconnect.maxAttempts` attempts.
 */
export class SessionStream implements AsyncIterable<StreamEvent> {
  /** The id of the last durable event received: pass it as `lastEventId` to resume later. */
  lastEventId: string | undefined;
  /** How many times the connection was re-opened. */
  reconnects = 0;

  private readonly abort = new AbortController();
  private started = false;

  constructor(
    private readonly transport: StreamTransport,
    private readonly options: SessionStreamOptions = {},
  ) {
    this.lastEventId = options.lastEventId;
    options.signal?.addEventListener('abort', () => this.abort.abort(), { once: true });
    if (options.signal?.aborted) {
      this.abort.abort();
    }
  }

  /** Stops the stream; a pending `next()` resolves as done. */
  close(): void {
    this.abort.abort();
  }

  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    if (this.started) {
      throw new Error('A SessionStream can be iterated once');
    }
    this.started = true;
    const maxAttempts = this.options.reconnect?.maxAttempts ?? 10;
    const initialDelay = this.options.reconnect?.initialDelayMs ?? 250;
    const maxDelay = this.options.reconnect?.maxDelayMs ?? 5000;
    let failures = 0;
    try {
      while (!this.closed) {
        let lastError: unknown;
        try {
          const ended = yield* this.connectOnce(() => (failures = 0));
          if (ended) {
            return;
          }
          lastError = new Error('the server closed the stream');
        } catch (error) {
          if (this.closed) {
            return;
          }
          if (error instanceof OmnigentError && error.status > 0 && !retryable(error.status)) {
            throw error;
          }
          lastError = error;
        }
        if (this.closed) {
          return;
        }
        failures += 1;
        if (failures > maxAttempts) {
          throw lastError instanceof OmnigentError
            ? lastError
            : OmnigentError.connection(this.transport.baseUrl, lastError);
        }
        this.options.onReconnect?.({
          attempt: failures,
          lastEventId: this.lastEventId,
          error: lastError,
        });
        await sleep(Math.min(maxDelay, initialDelay * 2 ** (failures - 1)), this.abort.signal);
        this.reconnects += 1;
      }
    } finally {
      this.abort.abort();
    }
  }

  /** One connection: yields its events; returns true on a clean end (`[DONE]`). */
  private async *connectOnce(onOpen: () => void): AsyncGenerator<StreamEvent, boolean> {
    const headers: Record<string, string> = {
      ...this.transport.headers(),
      Accept: 'text/event-stream',
    };
    if (this.lastEventId !== undefined) {
      headers['Last-Event-ID'] = this.lastEventId;
    }
    let response: Response;
    try {
      response = await this.transport.fetch(this.transport.url, {
        headers,
        signal: this.abort.signal,
      });
    } catch (error) {
      throw OmnigentError.connection(this.transport.baseUrl, error);
    }
    if (!response.ok || !response.body) {
      const text = await response.text().catch(() => '');
      throw OmnigentError.fromResponse(response, safeJson(text));
    }
    onOpen();
    for await (const message of sseMessages(response.body)) {
      if (message.data === '[DONE]') {
        return true;
      }
      const event = safeJson(message.data) as StreamEvent | undefined;
      // Transient frames repeat the last durable id of this connection ('0' before any), so
      // '0' on a live-tail connection must not become a resume point that replays everything.
      if (message.id !== undefined && (message.id !== '0' || this.lastEventId !== undefined)) {
        this.lastEventId = message.id;
      }
      if (event && typeof event === 'object' && typeof event.type === 'string') {
        yield event;
      }
    }
    return false;
  }
}

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
