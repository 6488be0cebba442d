import { OmnigentError } from './errors.js';
import type { components } from './generated/openapi.js';
import type { StreamEvent } from './generated/stream-events.js';
import { sseMessages } from './sse-messages.js';

type Schemas = components['schemas'];
export type ResponseObject = Schemas['ResponseObjectDto'];
export type CreateResponseRequest = Schemas['CreateResponseDto'];
export type ResponseDeleted = Schemas['ResponseDeletedDto'];

/** Statuses after which a response changes no more. */
export const TERMINAL_RESPONSE_STATUSES: readonly string[] = [
  'completed',
  'failed',
  'incomplete',
  'cancelled',
];

const TERMINAL_EVENTS = new Set(TERMINAL_RESPONSE_STATUSES.map((s) => `response.${s}`));

/** What `ResponsesApi` needs from the client (kept small so it can be tested with a fake). */
export interface ResponsesTransport {
  baseUrl: string;
  fetch: typeof fetch;
  headers(): Record<string, string>;
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface PollOptions {
  /** Between two GETs (default 500 ms, as the Python client). */
  intervalMs?: number;
  /** Give up (OmnigentError `timeout`) after this long; default: never. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * `/v1/responses` (docs/RESPONSES.md), mirroring upstream Python's `client.responses`: a chain of
 * responses is a session, `previous_response_id` continues it.
 */
export class ResponsesApi {
  constructor(private readonly transport: ResponsesTransport) {}

  /** Runs a response and resolves with it once it ended (or at once with `background: true`). */
  create(body: Omit<CreateResponseRequest, 'stream'>): Promise<ResponseObject> {
    return this.transport.request('POST', '/v1/responses', { ...body, stream: false });
  }

  /**
   * Runs a response and yields its stream events (`response.created`, text deltas, items…, the
   * terminal `response.*`); the iteration ends with the stream (`[DONE]`).
   */
  stream(
    body: Omit<CreateResponseRequest, 'stream'>,
    options: { signal?: AbortSignal } = {},
  ): AsyncIterable<StreamEvent> {
    return this.events('POST', '/v1/responses', { ...body, stream: true }, options.signal);
  }

  get(responseId: string): Promise<ResponseObject> {
    return this.transport.request('GET', `/v1/responses/${encodeURIComponent(responseId)}`);
  }

  /** The live events of a response created earlier (`background`), or its terminal event. */
  follow(responseId: string, options: { signal?: AbortSignal } = {}): AsyncIterable<StreamEvent> {
    return this.events(
      'GET',
      `/v1/responses/${encodeURIComponent(responseId)}?stream=true`,
      undefined,
      options.signal,
    );
  }

  /** GETs the response until it ended (completed, failed, incomplete or cancelled). */
  async poll(responseId: string, options: PollOptions = {}): Promise<ResponseObject> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const response = await this.get(responseId);
      if (TERMINAL_RESPONSE_STATUSES.includes(response.status)) {
        return response;
      }
      if (Date.now() >= deadline) {
        throw new OmnigentError(0, 'timeout', `Response ${responseId} is still ${response.status}`);
      }
      if (options.signal?.aborted) {
        return response;
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    }
  }

  /** Results of the response's client-side tool calls (`function_call`, `action_required`). */
  submitToolResults(
    responseId: string,
    toolResults: { call_id: string; output: string }[],
  ): Promise<ResponseObject> {
    return this.transport.request('PATCH', `/v1/responses/${encodeURIComponent(responseId)}`, {
      tool_results: toolResults,
    });
  }

  /** Interrupts a running response; resolves with it (normally `incomplete`). */
  cancel(responseId: string): Promise<ResponseObject> {
    return this.transport.request('POST', `/v1/responses/${encodeURIComponent(responseId)}/cancel`);
  }

  delete(responseId: string): Promise<ResponseDeleted> {
    return this.transport.request('DELETE', `/v1/responses/${encodeURIComponent(responseId)}`);
  }

  private async *events(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<StreamEvent> {
    let response: Response;
    try {
      response = await this.transport.fetch(new URL(path, this.transport.baseUrl), {
        method,
        headers: {
          ...this.transport.headers(),
          Accept: 'text/event-stream',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw OmnigentError.connection(this.transport.baseUrl, error);
    }
    if (!response.ok || !response.body) {
      const text = await response.text().catch(() => '');
      throw OmnigentError.fromResponse(response, parseJson(text));
    }
    for await (const message of sseMessages(response.body)) {
      if (message.data === '[DONE]') {
        return;
      }
      const event = parseJson(message.data) as StreamEvent | undefined;
      if (event && typeof event.type === 'string') {
        yield event;
      }
    }
  }
}

export interface QueryOptions {
  /** The agent: its name (`echo`) or id. */
  model: string;
  input: CreateResponseRequest['input'];
  /** Continue this response's chain (what `ResponseSession` threads for you). */
  previousResponseId?: string;
  signal?: AbortSignal;
}

/** The text of a response's stream: its deltas, else its assistant message, else its output. */
export async function* textChunks(
  events: AsyncIterable<StreamEvent>,
  onResponse?: (response: ResponseObject) => void,
): AsyncGenerator<string> {
  let streamed = false;
  for await (const event of events) {
    if (event.type === 'response.output_text.delta') {
      streamed = true;
      yield event.delta;
    } else if (!streamed && event.type === 'response.output_item.done') {
      const text = assistantText([event.item as Record<string, unknown>]);
      if (text) {
        streamed = true;
        yield text;
      }
    } else if (TERMINAL_EVENTS.has(event.type) && 'response' in event) {
      const response = event.response as unknown as ResponseObject;
      onResponse?.(response);
      const text = streamed ? '' : assistantText(response.output);
      if (text) {
        yield text;
      }
    }
  }
}

/** The text of the assistant messages among items (flattened shape). */
export function assistantText(items: Record<string, unknown>[]): string {
  return items
    .filter((item) => item.type === 'message' && item.role === 'assistant')
    .flatMap((item) => (Array.isArray(item.content) ? item.content : []))
    .filter((part: { type?: string }) => part.type === 'output_text' || part.type === 'text')
    .map((part: { text?: string }) => part.text ?? '')
    .join('');
}

/**
 * A chain of queries on one agent, as upstream Python's `client.session(model)`: each query
 * continues the previous one's response, so the agent keeps the context.
 */
export class ResponseSession {
  /** The latest response of the chain, once a query ran. */
  lastResponse: ResponseObject | undefined;
  /** The `previous_response_id` of the next query. */
  lastResponseId: string | undefined;

  constructor(
    private readonly responses: ResponsesApi,
    readonly model: string,
    options: { previousResponseId?: string } = {},
  ) {
    this.lastResponseId = options.previousResponseId;
  }

  /** The chain's session id, once the first query ran. */
  get conversationId(): string | undefined {
    return this.lastResponse?.conversation?.id;
  }

  /** Runs one turn and resolves with its text. */
  async query(
    input: QueryOptions['input'],
    options: { signal?: AbortSignal } = {},
  ): Promise<string> {
    let text = '';
    for await (const chunk of this.queryStream(input, options)) {
      text += chunk;
    }
    return text;
  }

  /** Runs one turn and yields its text as it streams. */
  queryStream(
    input: QueryOptions['input'],
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<string> {
    const events = this.responses.stream(
      {
        model: this.model,
        input,
        ...(this.lastResponseId ? { previous_response_id: this.lastResponseId } : {}),
      },
      options,
    );
    return textChunks(events, (response) => {
      this.lastResponse = response;
      this.lastResponseId = response.id;
      if (response.status === 'failed') {
        throw new OmnigentError(
          0,
          response.error?.code ?? 'response_failed',
          response.error?.message ?? `Response ${response.id} failed`,
        );
      }
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
