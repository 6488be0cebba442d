import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  Harness,
  HarnessError,
  HarnessStepInput,
  HarnessStepResult,
  HarnessToolCall,
} from 'src/runner/harnesses/harness';
import { Endpoint, resolveEndpoint } from 'src/runner/harnesses/openai-endpoint';
import { buildChatMessages, toChatTools } from 'src/runner/harnesses/openai-messages';

export const OPENAI_MAX_ATTEMPTS = 4;
const BACKOFF_START_SECONDS = 0.5;
const BACKOFF_CAP_SECONDS = 10;
// Provider error text is shown to users; keep a runaway HTML error page out of the event stream.
const PROVIDER_MESSAGE_MAX_CHARS = 500;

interface StreamChunk {
  model?: string;
  choices?: {
    delta?: {
      content?: string | null;
      tool_calls?: {
        index?: number;
        id?: string;
        function?: { name?: string; arguments?: string };
      }[];
    };
  }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string };
}

interface StepAccumulator {
  text: string;
  calls: Map<number, { id: string; name: string; arguments: string }>;
  model: string | null;
  usage: { input_tokens: number; output_tokens: number } | undefined;
  // Once anything reached the caller the step cannot be retried without duplicating output.
  streamed: boolean;
}

/** A failure worth another attempt (rate limit, 5xx, connection) before any content streamed. */
class RetryableError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

function retryAfterSeconds(header: string | null): number | null {
  if (header === null || header.trim() === '') {
    return null;
  }
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) {
    return seconds;
  }
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

async function providerMessage(response: Response): Promise<string> {
  let body: string;
  try {
    body = await response.text();
  } catch {
    return response.statusText || 'no details';
  }
  let message = body.trim();
  try {
    const parsed = JSON.parse(body) as {
      error?: { message?: unknown } | string;
      message?: unknown;
    };
    const candidate =
      typeof parsed.error === 'string'
        ? parsed.error
        : typeof parsed.error?.message === 'string'
          ? parsed.error.message
          : typeof parsed.message === 'string'
            ? parsed.message
            : null;
    if (candidate) {
      message = candidate;
    }
  } catch {
    // Not JSON: the raw text is the best we have.
  }
  message ||= response.statusText || 'no details';
  return message.length > PROVIDER_MESSAGE_MAX_CHARS
    ? `${message.slice(0, PROVIDER_MESSAGE_MAX_CHARS)}…`
    : message;
}

/**
 * Harness for any OpenAI-compatible Chat Completions endpoint (spec/README.md §8): one streamed
 * completion per step, with tool calls. Retries rate limits, 5xx and connection failures that
 * happen before anything was streamed.
 */
export class OpenAiHarness implements Harness {
  readonly name = 'openai';

  async step(input: HarnessStepInput): Promise<HarnessStepResult> {
    input.signal.throwIfAborted();
    const endpoint = resolveEndpoint(input);
    const body: Record<string, unknown> = {
      model: endpoint.model,
      messages: buildChatMessages(input.agent.instructions, input.history),
      stream: true,
      stream_options: { include_usage: true },
    };
    if (input.tools.length > 0) {
      body.tools = toChatTools(input.tools);
    }
    const payload = JSON.stringify(body);
    const redact = (text: string): string => text.split(endpoint.apiKey).join('***');

    let lastError: RetryableError | null = null;
    for (let attempt = 1; attempt <= OPENAI_MAX_ATTEMPTS; attempt++) {
      try {
        return await this.attempt(endpoint, payload, input, redact);
      } catch (error) {
        if (!(error instanceof RetryableError)) {
          throw error;
        }
        lastError = error;
      }
      if (attempt === OPENAI_MAX_ATTEMPTS) {
        break;
      }
      const delaySeconds = Math.min(
        BACKOFF_CAP_SECONDS,
        lastError.retryAfterSeconds ?? BACKOFF_START_SECONDS * 2 ** (attempt - 1),
      );
      input.onRetry?.({
        attempt,
        maxAttempts: OPENAI_MAX_ATTEMPTS,
        delaySeconds,
        error: { code: lastError.code, message: lastError.message },
      });
      await sleep(delaySeconds * 1000, undefined, { signal: input.signal });
    }
    throw new HarnessError(
      'llm_unavailable',
      `The model provider is unavailable after ${OPENAI_MAX_ATTEMPTS} attempts: ${lastError?.message}`,
    );
  }

  private async attempt(
    endpoint: Endpoint,
    payload: string,
    input: HarnessStepInput,
    redact: (text: string) => string,
  ): Promise<HarnessStepResult> {
    let response: Response;
    try {
      response = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          accept: 'text/event-stream',
          authorization: `Bearer ${endpoint.apiKey}`,
          'content-type': 'application/json',
        },
        body: payload,
        signal: input.signal,
      });
    } catch (error) {
      input.signal.throwIfAborted();
      throw new RetryableError(
        'connection_error',
        redact(`Could not reach ${endpoint.origin}: ${describeNetworkError(error)}`),
      );
    }
    if (!response.ok) {
      const status = response.status;
      const message = redact(await providerMessage(response));
      if (status === 401 || status === 403) {
        throw new HarnessError(
          'auth_error',
          `The model provider rejected the API key (HTTP ${status}): ${message}`,
        );
      }
      if (status === 429) {
        throw new RetryableError(
          'rate_limit',
          `Rate limited by the model provider (HTTP 429): ${message}`,
          retryAfterSeconds(response.headers.get('retry-after')),
        );
      }
      if (status >= 500) {
        throw new RetryableError(
          'server_error',
          `The model provider failed (HTTP ${status}): ${message}`,
          retryAfterSeconds(response.headers.get('retry-after')),
        );
      }
      throw new HarnessError(
        'llm_error',
        `The model provider rejected the request (HTTP ${status}): ${message}`,
      );
    }
    const acc: StepAccumulator = {
      text: '',
      calls: new Map(),
      model: null,
      usage: undefined,
      streamed: false,
    };
    try {
      await this.readStream(response, acc, input, redact);
    } catch (error) {
      if (error instanceof HarnessError) {
        throw error;
      }
      input.signal.throwIfAborted();
      const message = redact(
        `The connection to ${endpoint.origin} dropped: ${describeNetworkError(error)}`,
      );
      if (!acc.streamed) {
        throw new RetryableError('connection_error', message);
      }
      throw new HarnessError('llm_unavailable', message);
    }
    const toolCalls: HarnessToolCall[] = [...acc.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => ({
        callId: call.id || `call_${randomBytes(12).toString('hex')}`,
        name: call.name,
        arguments: call.arguments || '{}',
      }));
    return { text: acc.text, toolCalls, model: acc.model ?? endpoint.model, usage: acc.usage };
  }

  private async readStream(
    response: Response,
    acc: StepAccumulator,
    input: HarnessStepInput,
    redact: (text: string) => string,
  ): Promise<void> {
    if (!response.body) {
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let data: string[] = [];
    let done = false;

    const dispatch = (): void => {
      if (data.length === 0) {
        return;
      }
      const payload = data.join('\n');
      data = [];
      if (payload.trim() === '[DONE]') {
        done = true;
        return;
      }
      let chunk: StreamChunk;
      try {
        chunk = JSON.parse(payload) as StreamChunk;
      } catch {
        // Keep-alive or vendor noise; a real chunk is always JSON.
        return;
      }
      this.applyChunk(chunk, acc, input, redact);
    };

    try {
      while (!done) {
        const { value, done: ended } = await reader.read();
        if (ended) {
          break;
        }
        buffer += decoder.decode(value, { stream: true });
        let newline = buffer.indexOf('\n');
        while (newline !== -1 && !done) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            dispatch();
          } else if (line.startsWith('data:')) {
            data.push(line.slice(5).replace(/^ /, ''));
          }
          newline = buffer.indexOf('\n');
        }
      }
      if (!done) {
        buffer += decoder.decode();
        if (buffer.startsWith('data:')) {
          data.push(buffer.slice(5).replace(/^ /, ''));
        }
        dispatch();
      }
    } finally {
      // After [DONE] the provider may keep the connection open; we no longer need it.
      await reader.cancel().catch(() => undefined);
    }
  }

  private applyChunk(
    chunk: StreamChunk,
    acc: StepAccumulator,
    input: HarnessStepInput,
    redact: (text: string) => string,
  ): void {
    if (chunk.error) {
      throw new HarnessError(
        'llm_error',
        redact(`The model provider reported an error: ${chunk.error.message ?? 'no details'}`),
      );
    }
    if (chunk.model) {
      acc.model = chunk.model;
    }
    if (chunk.usage) {
      acc.usage = {
        input_tokens: chunk.usage.prompt_tokens ?? 0,
        output_tokens: chunk.usage.completion_tokens ?? 0,
      };
    }
    const delta = chunk.choices?.[0]?.delta;
    if (!delta) {
      return;
    }
    if (typeof delta.content === 'string' && delta.content !== '') {
      acc.text += delta.content;
      acc.streamed = true;
      input.onTextDelta(delta.content);
    }
    for (const fragment of delta.tool_calls ?? []) {
      const index = fragment.index ?? 0;
      const call = acc.calls.get(index) ?? { id: '', name: '', arguments: '' };
      call.id ||= fragment.id ?? '';
      call.name += fragment.function?.name ?? '';
      call.arguments += fragment.function?.arguments ?? '';
      acc.calls.set(index, call);
      acc.streamed = true;
    }
  }
}

function describeNetworkError(error: unknown): string {
  // undici wraps the useful part (ECONNREFUSED, ENOTFOUND, …) in `cause`.
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') {
    return cause.code;
  }
  if (cause && typeof cause.message === 'string') {
    return cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}
