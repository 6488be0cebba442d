/**
 * Client-facing stream events (upstream's `ServerStreamEvent` union, spec/api-reference.md §4.7,
 * typed in `stream-event-types.ts`) and the helpers that build and normalise them. On the wire
 * every schema field is present, nulls included, and keys outside the schema are dropped (§1.1).
 *
 * Over 450 lines because of one table: STREAM_EVENT_FIELDS lists the fields and defaults of all
 * 55 upstream event types (about 190 lines), next to the code that applies it.
 */

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

/** A field the schema requires. */
export const REQUIRED = Symbol('required');
/** An optional field without a default: left out when absent. */
export const OPTIONAL = Symbol('optional');

type UpstreamEvent = Exclude<StreamEvent, { type: 'stream.reset' }>;

/**
 * Per event type, each field besides `type`: REQUIRED when the schema requires it, else its
 * default (or OPTIONAL). Checked against the event types here and against the schemas by
 * `stream-events.spec.ts`.
 */
type FieldTable = {
  [E in UpstreamEvent as E['type']]: {
    [K in Exclude<keyof E, 'type'>]-?: undefined extends E[K]
      ? Exclude<E[K], undefined> | typeof OPTIONAL
      : typeof REQUIRED;
  };
};

/** Top-level fields of each event type with their defaults (the component schemas of upstream's openapi.json). */
export const STREAM_EVENT_FIELDS = {
  'browser.action_request': {
    action: REQUIRED,
    action_id: REQUIRED,
    args: REQUIRED,
    sequence_number: null,
  },
  'response.cancelled': { response: REQUIRED, sequence_number: null },
  'response.client_task.cancel': { call_id: null, sequence_number: null, task_id: REQUIRED },
  'response.compaction.completed': {
    compacted_messages: null,
    sequence_number: null,
    summary: null,
    summary_model: null,
    total_tokens: null,
  },
  'response.compaction.failed': { sequence_number: null },
  'response.compaction.in_progress': { sequence_number: null },
  'response.completed': { response: REQUIRED, sequence_number: null },
  'response.created': { response: REQUIRED, sequence_number: null },
  'response.elicitation_request': {
    elicitation_id: REQUIRED,
    method: 'elicitation/create',
    params: REQUIRED,
    sequence_number: null,
  },
  'response.elicitation_resolved': { elicitation_id: REQUIRED, sequence_number: null },
  'response.error': { error: REQUIRED, sequence_number: null, source: REQUIRED, tool_name: null },
  'response.failed': { response: REQUIRED, sequence_number: null },
  'response.function_call_output.delta': {
    call_id: REQUIRED,
    delta: REQUIRED,
    sequence_number: null,
  },
  'response.heartbeat': { last_event_seq: null, sequence_number: null, server_time: null },
  'response.in_progress': { response: REQUIRED, sequence_number: null },
  'response.incomplete': { response: REQUIRED, sequence_number: null },
  'response.output_file.done': {
    content_type: null,
    file_id: REQUIRED,
    filename: null,
    sequence_number: null,
  },
  'response.output_item.done': { item: REQUIRED, sequence_number: null },
  'response.output_text.delta': {
    delta: REQUIRED,
    final: null,
    index: null,
    message_id: null,
    sequence_number: null,
  },
  'response.policy_denied': {
    conversation_id: REQUIRED,
    phase: '',
    reason: '',
    sequence_number: null,
  },
  'response.queued': { response: REQUIRED, sequence_number: null },
  'response.reasoning.started': { sequence_number: null },
  'response.reasoning_summary_text.delta': { delta: REQUIRED, sequence_number: null },
  'response.reasoning_text.delta': { delta: REQUIRED, sequence_number: null },
  'response.retry': {
    attempt: REQUIRED,
    delay_seconds: REQUIRED,
    error: REQUIRED,
    max_attempts: REQUIRED,
    sequence_number: null,
    source: REQUIRED,
    tool_name: null,
  },
  'session.agent_changed': {
    agent_id: REQUIRED,
    agent_name: REQUIRED,
    conversation_id: REQUIRED,
    sequence_number: null,
  },
  'session.changed_files.invalidated': {
    environment_id: 'default',
    sequence_number: null,
    session_id: REQUIRED,
  },
  'session.child_session.updated': {
    child: REQUIRED,
    child_session_id: REQUIRED,
    conversation_id: REQUIRED,
    sequence_number: null,
  },
  'session.collaboration_mode': {
    conversation_id: REQUIRED,
    mode: REQUIRED,
    sequence_number: null,
  },
  'session.created': {
    agent_id: null,
    child_session_id: REQUIRED,
    conversation_id: REQUIRED,
    parent_session_id: null,
    sequence_number: null,
  },
  'session.heartbeat': { sequence_number: null, server_time: null },
  'session.input.consumed': { data: REQUIRED, sequence_number: null },
  'session.interrupted': { data: REQUIRED, sequence_number: null },
  'session.mcp_startup': { conversation_id: REQUIRED, sequence_number: null, servers: REQUIRED },
  'session.model': { conversation_id: REQUIRED, model: REQUIRED, sequence_number: null },
  'session.model_options': { conversation_id: REQUIRED, sequence_number: null },
  'session.permission_mode': {
    conversation_id: REQUIRED,
    permission_mode: REQUIRED,
    sequence_number: null,
  },
  'session.presence': { conversation_id: REQUIRED, sequence_number: null, viewers: REQUIRED },
  'session.reasoning_effort': {
    conversation_id: REQUIRED,
    reasoning_effort: null,
    sequence_number: null,
  },
  'session.resource.created': { resource: REQUIRED, sequence_number: null },
  'session.resource.deleted': {
    resource_id: REQUIRED,
    resource_type: REQUIRED,
    sequence_number: null,
    session_id: REQUIRED,
  },
  'session.sandbox_status': {
    conversation_id: REQUIRED,
    error: null,
    sequence_number: null,
    stage: REQUIRED,
  },
  'session.skills': { conversation_id: REQUIRED, sequence_number: null },
  'session.status': {
    background_task_count: null,
    blocked_on: null,
    conversation_id: REQUIRED,
    error: null,
    response_id: null,
    sequence_number: null,
    status: REQUIRED,
  },
  'session.superseded': {
    conversation_id: REQUIRED,
    reason: 'clear',
    sequence_number: null,
    target_conversation_id: REQUIRED,
  },
  'session.terminal.activity': {
    sequence_number: null,
    session_id: REQUIRED,
    terminal_id: REQUIRED,
  },
  'session.terminal_pending': {
    conversation_id: REQUIRED,
    pending: REQUIRED,
    sequence_number: null,
  },
  'session.title': { conversation_id: REQUIRED, sequence_number: null, title: REQUIRED },
  'session.todos': { conversation_id: REQUIRED, sequence_number: null, todos: REQUIRED },
  'session.usage': {
    context_tokens: null,
    context_window: null,
    conversation_id: REQUIRED,
    sequence_number: null,
    total_cost_usd: null,
    usage_by_model: null,
  },
  'turn.cancelled': { sequence_number: null, session_id: REQUIRED },
  'turn.completed': { sequence_number: null, session_id: REQUIRED },
  'turn.failed': { error: OPTIONAL, sequence_number: null, session_id: REQUIRED },
  'turn.started': { sequence_number: null, session_id: REQUIRED },
} satisfies FieldTable;

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
