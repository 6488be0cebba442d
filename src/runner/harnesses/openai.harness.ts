import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { FlatItem, messageText } from 'src/protocol/items';
import {
  Harness,
  HarnessError,
  HarnessStepInput,
  HarnessStepResult,
  HarnessToolCall,
} from 'src/runner/harnesses/harness';
import { ToolDefinition } from 'src/runner/tools/tool';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const OPENAI_MAX_ATTEMPTS = 4;
const BACKOFF_START_SECONDS = 0.5;
const BACKOFF_CAP_SECONDS = 10;
// Provider error text is shown to users; keep a runaway HTML error page out of the event stream.
const PROVIDER_MESSAGE_MAX_CHARS = 500;

/** Chat Completions request message (only the shapes we send). */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | {
      role: 'assistant';
      content: string | null;
      tool_calls?: {
        id: string;
        type: 'function';
        function: { name: string; arguments: string };
      }[];
    }
  | { role: 'tool'; tool_call_id: string; content: string };

type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

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

const DROPPED_CALL_OUTPUT = 'Error: no output was recorded for this tool call.';

/**
 * Builds the Chat Completions `messages` from the session history. Calls of one response that
 * follow each other (and the assistant text right before them) form one assistant message, as the
 * model produced them; tool answers without a call are dropped and calls without an answer get a
 * placeholder, because the API rejects both.
 */
export function buildChatMessages(instructions: string | null, history: FlatItem[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (instructions) {
    messages.push({ role: 'system', content: instructions });
  }
  // response_id of the item that produced the last message, when it is an assistant message.
  let lastAssistantResponse: string | null = null;
  for (const item of history) {
    const previous = messages[messages.length - 1];
    if (item.type === 'message' && (item.role === 'user' || item.role === 'assistant')) {
      const text = messageText(item);
      if (item.role === 'user') {
        messages.push({ role: 'user', content: text });
        lastAssistantResponse = null;
      } else {
        messages.push({ role: 'assistant', content: text });
        lastAssistantResponse = item.response_id;
      }
    } else if (item.type === 'function_call') {
      const call = {
        id: String(item.call_id),
        type: 'function' as const,
        function: { name: String(item.name), arguments: String(item.arguments ?? '') || '{}' },
      };
      if (previous?.role === 'assistant' && lastAssistantResponse === item.response_id) {
        previous.tool_calls = [...(previous.tool_calls ?? []), call];
      } else {
        messages.push({ role: 'assistant', content: null, tool_calls: [call] });
        lastAssistantResponse = item.response_id;
      }
    } else if (item.type === 'function_call_output') {
      messages.push({
        role: 'tool',
        tool_call_id: String(item.call_id),
        content: String(item.output ?? ''),
      });
      lastAssistantResponse = null;
    }
  }
  return pairToolMessages(messages);
}

function pairToolMessages(messages: ChatMessage[]): ChatMessage[] {
  const result: ChatMessage[] = [];
  let open: AssistantMessage | null = null;
  let answered = new Set<string>();
  const closeOpen = (): void => {
    for (const call of open?.tool_calls ?? []) {
      if (!answered.has(call.id)) {
        result.push({ role: 'tool', tool_call_id: call.id, content: DROPPED_CALL_OUTPUT });
      }
    }
    open = null;
    answered = new Set();
  };
  for (const message of messages) {
    if (message.role === 'tool') {
      const pending = open?.tool_calls?.some((call) => call.id === message.tool_call_id);
      if (pending && !answered.has(message.tool_call_id)) {
        answered.add(message.tool_call_id);
        result.push(message);
      }
      continue;
    }
    closeOpen();
    result.push(message);
    if (message.role === 'assistant' && message.tool_calls?.length) {
      open = message;
    }
  }
  closeOpen();
  return result;
}

function toChatTools(tools: ToolDefinition[]): unknown[] {
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  }));
}

/** Replaces `${NAME}` references from `env`; a reference to an unset variable is a config error. */
function resolveReferences(
  value: string,
  field: string,
  env: Record<string, string | undefined>,
): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
    const resolved = env[name];
    if (resolved === undefined || resolved === '') {
      throw new HarnessError(
        'harness_not_configured',
        `The environment variable ${name} referenced by executor.auth.${field} is not set`,
      );
    }
    return resolved;
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

interface Endpoint {
  url: string;
  origin: string;
  apiKey: string;
  model: string;
}

function resolveEndpoint(input: HarnessStepInput): Endpoint {
  const auth = input.agent.executor.auth ?? {};
  const baseUrl =
    nonEmpty(auth.base_url) !== undefined
      ? resolveReferences(auth.base_url as string, 'base_url', input.env)
      : (nonEmpty(input.env.OPENAI_BASE_URL) ?? OPENAI_DEFAULT_BASE_URL);
  const apiKey =
    nonEmpty(auth.api_key) !== undefined
      ? resolveReferences(auth.api_key as string, 'api_key', input.env)
      : nonEmpty(input.env.OPENAI_API_KEY);
  if (apiKey === undefined) {
    throw new HarnessError(
      'harness_not_configured',
      'No API key for the openai harness: set executor.auth.api_key in the agent spec or ' +
        'OPENAI_API_KEY in the runner environment',
    );
  }
  const model =
    nonEmpty(input.model ?? undefined) ??
    nonEmpty(input.agent.executor.model) ??
    nonEmpty(input.env.OPENAI_MODEL);
  if (model === undefined) {
    throw new HarnessError(
      'harness_not_configured',
      'No model for the openai harness: set executor.model in the agent spec or OPENAI_MODEL in ' +
        'the runner environment',
    );
  }
  let origin: string;
  try {
    // origin drops any user:password@ part, so error messages never echo credentials in the URL.
    origin = new URL(baseUrl).origin;
  } catch {
    throw new HarnessError('harness_not_configured', 'The model base URL is not a valid URL');
  }
  return { url: `${baseUrl.replace(/\/+$/, '')}/chat/completions`, origin, apiKey, model };
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
