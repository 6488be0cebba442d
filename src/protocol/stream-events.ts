/**
 * Client-facing stream events (upstream's `ServerStreamEvent` union, spec/api-reference.md §4.7,
 * typed in `stream-event-types.ts`) and the helpers that build and normalise them. On the wire
 * every schema field is present, nulls included, and keys outside the schema are dropped (§1.1).
 * The fields and defaults of every event type are the table in `stream-event-fields.ts`.
 */

import {
  OPTIONAL,
  REQUIRED,
  STREAM_EVENT_FIELDS,
  UpstreamEvent,
} from 'src/protocol/stream-event-fields';
import type {
  ErrorDetail,
  ResponseObject,
  RetryErrorDetail,
  StreamEvent,
  StreamEventOf,
  StreamEventType,
  Usage,
} from 'src/protocol/stream-event-types';

export type {
  ErrorDetail,
  ResponseObject,
  StreamEvent,
  StreamEventOf,
  StreamEventType,
  Usage,
} from 'src/protocol/stream-event-types';

/** An event as a producer sent it, not validated yet (a runner's `session.event`). */
export interface RawStreamEvent {
  type: string;
  [key: string]: unknown;
}

/** The payload of an event type: the event without its `type` (what `emit(type, payload)` takes). */
export type StreamEventPayload<K extends StreamEventType> = Omit<StreamEventOf<K>, 'type'>;

/**
 * Events never written to the event log and never numbered (spec/runner-protocol.md §7). Every
 * other event published on a session stream is durable.
 */
export const TRANSIENT_EVENT_TYPES: ReadonlySet<string> = new Set<StreamEventType>([
  'response.output_text.delta',
  'response.function_call_output.delta',
  'response.reasoning.started',
  'response.reasoning_text.delta',
  'response.reasoning_summary_text.delta',
  'session.heartbeat',
  'response.heartbeat',
  'session.presence',
  'session.terminal.activity',
  'stream.reset',
]);

export function isTransientEvent(type: string): boolean {
  return TRANSIENT_EVENT_TYPES.has(type);
}

/** An upstream event type (`stream.reset` is ours: no producer may send it). */
export function isKnownEventType(type: string): type is UpstreamEvent['type'] {
  return Object.prototype.hasOwnProperty.call(STREAM_EVENT_FIELDS, type);
}

/** The events that end a response. */
export type TerminalResponseEvent = StreamEventOf<
  'response.completed' | 'response.failed' | 'response.incomplete' | 'response.cancelled'
>;

const nowSeconds = () => Math.floor(Date.now() / 1000);

function errorDetail(value: unknown): Required<ErrorDetail> | null {
  if (!value || typeof value !== 'object') {
    return null;
  }
  const e = value as ErrorDetail;
  return {
    code: String(e.code ?? 'error'),
    message: String(e.message ?? ''),
    title: e.title ?? null,
    cause: e.cause ?? null,
    remediation: e.remediation ?? null,
  };
}

function usage(value: unknown): Usage | null {
  if (!value || typeof value !== 'object') {
    return null;
  }
  const u = value as Usage;
  const input = Number(u.input_tokens ?? 0);
  const output = Number(u.output_tokens ?? 0);
  return {
    input_tokens: input,
    output_tokens: output,
    output_tokens_details: {
      reasoning_tokens: Number(u.output_tokens_details?.reasoning_tokens ?? 0),
    },
    total_tokens: Number(u.total_tokens ?? input + output),
    context_tokens: u.context_tokens ?? null,
    cache_read_input_tokens: Number(u.cache_read_input_tokens ?? 0),
    cache_creation_input_tokens: Number(u.cache_creation_input_tokens ?? 0),
    model: u.model ?? null,
    cost_usd: u.cost_usd ?? null,
  };
}

/** A ResponseObject with every field present, from a partial one. */
export function responseObject(
  partial: Partial<ResponseObject> & { id: string },
  conversationId?: string,
): Required<ResponseObject> {
  return {
    id: partial.id,
    object: 'response',
    status: partial.status ?? 'in_progress',
    model: partial.model ?? 'unknown',
    created_at: partial.created_at ?? nowSeconds(),
    completed_at: partial.completed_at ?? null,
    output: Array.isArray(partial.output) ? partial.output : [],
    background: partial.background ?? false,
    store: partial.store ?? true,
    usage: usage(partial.usage),
    previous_response_id: partial.previous_response_id ?? null,
    conversation: partial.conversation ?? (conversationId ? { id: conversationId } : null),
    instructions: partial.instructions ?? null,
    reasoning: partial.reasoning ?? null,
    error: errorDetail(partial.error),
    incomplete_details: partial.incomplete_details ?? null,
  };
}

export class InvalidStreamEventError extends Error {}

/**
 * The wire form of an event: every schema field present (defaults filled), unknown keys dropped,
 * `conversation_id` / `session_id` filled in where the schema needs them and the producer left
 * them out. Throws InvalidStreamEventError for unknown types or missing required fields.
 */
export function normalizeStreamEvent<K extends StreamEventType>(
  raw: RawStreamEvent & { type: K },
  conversationId: string,
): StreamEventOf<K>;
export function normalizeStreamEvent(
  raw: RawStreamEvent | StreamEvent,
  conversationId: string,
): StreamEvent;
export function normalizeStreamEvent(
  event: RawStreamEvent | StreamEvent,
  conversationId: string,
): StreamEvent {
  const raw = event as RawStreamEvent;
  if (!raw || typeof raw !== 'object' || typeof raw.type !== 'string') {
    throw new InvalidStreamEventError('event has no type');
  }
  if (raw.type === 'stream.reset') {
    return { type: 'stream.reset', conversation_id: conversationId };
  }
  if (!isKnownEventType(raw.type)) {
    throw new InvalidStreamEventError(`unknown event type '${raw.type}'`);
  }
  const fields: Record<string, unknown> = STREAM_EVENT_FIELDS[raw.type];
  const out: Record<string, unknown> = { type: raw.type };
  for (const [name, fallback] of Object.entries(fields)) {
    let value = raw[name];
    if (value === undefined && (name === 'conversation_id' || name === 'session_id')) {
      value = conversationId;
    }
    if (value === undefined) {
      if (fallback === REQUIRED) {
        throw new InvalidStreamEventError(`${raw.type} needs '${name}'`);
      }
      if (fallback === OPTIONAL) {
        continue;
      }
      value = fallback;
    }
    out[name] = value;
  }
  if ('response' in fields) {
    const response = raw.response as Partial<ResponseObject> | null;
    // The turn is keyed on the response id: a response without one is not relayed.
    if (typeof response !== 'object' || response === null || typeof response.id !== 'string') {
      throw new InvalidStreamEventError(`${raw.type} needs 'response.id'`);
    }
    out.response = responseObject({ ...response, id: response.id }, conversationId);
  }
  if (
    raw.type === 'session.status' ||
    raw.type === 'response.error' ||
    raw.type === 'response.retry'
  ) {
    out.error = raw.type === 'session.status' ? errorDetail(raw.error) : retryError(raw.error);
  }
  if (raw.type === 'session.input.consumed') {
    const data = raw.data as Record<string, unknown>;
    out.data = {
      item_id: data.item_id,
      type: data.type,
      data: data.data ?? {},
      created_by: data.created_by ?? null,
      cleared_pending_id: data.cleared_pending_id ?? null,
    };
  }
  if (raw.type === 'session.interrupted') {
    const data = raw.data as Record<string, unknown>;
    out.data = {
      requested_at: data.requested_at ?? nowSeconds(),
      response_id: data.response_id ?? null,
    };
  }
  // The one place an event becomes typed: every field was checked or filled above.
  return out as unknown as StreamEvent;
}

function retryError(value: unknown): Required<RetryErrorDetail> {
  const e = (value ?? {}) as { code?: unknown; message?: unknown; detail?: unknown };
  return {
    code: String(e.code ?? 'error'),
    message: String(e.message ?? ''),
    detail: (e.detail as RetryErrorDetail['detail']) ?? null,
  };
}

type ResponseEventType =
  | 'response.created'
  | 'response.in_progress'
  | 'response.completed'
  | 'response.failed'
  | 'response.incomplete'
  | 'response.cancelled';

/** Builders for the events we produce ourselves; the conversation always comes first. */
export const StreamEvents = {
  heartbeat: (): StreamEventOf<'session.heartbeat'> => ({
    type: 'session.heartbeat',
    sequence_number: null,
    server_time: new Date().toISOString(),
  }),
  reset: (conversationId: string): StreamEventOf<'stream.reset'> => ({
    type: 'stream.reset',
    conversation_id: conversationId,
  }),
  status: (
    conversationId: string,
    status: StreamEventOf<'session.status'>['status'],
    options: { error?: ErrorDetail | null; responseId?: string | null } = {},
  ) =>
    normalizeStreamEvent(
      {
        type: 'session.status',
        conversation_id: conversationId,
        status,
        error: options.error ?? null,
        response_id: options.responseId ?? null,
      },
      conversationId,
    ),
  inputConsumed: (
    conversationId: string,
    item: { id: string; type: string; data: Record<string, unknown>; created_by?: string | null },
    clearedPendingId?: string | null,
  ) =>
    normalizeStreamEvent(
      {
        type: 'session.input.consumed',
        data: {
          item_id: item.id,
          type: item.type,
          data: item.data,
          created_by: item.created_by ?? null,
          cleared_pending_id: clearedPendingId ?? null,
        },
      },
      conversationId,
    ),
  interrupted: (conversationId: string, responseId: string | null) =>
    normalizeStreamEvent(
      {
        type: 'session.interrupted',
        data: { requested_at: nowSeconds(), response_id: responseId },
      },
      conversationId,
    ),
  response: <K extends ResponseEventType>(
    conversationId: string,
    type: K,
    response: Partial<ResponseObject> & { id: string },
  ) => normalizeStreamEvent({ type, response }, conversationId),
  outputItemDone: (conversationId: string, item: Record<string, unknown>) =>
    normalizeStreamEvent({ type: 'response.output_item.done', item }, conversationId),
};
