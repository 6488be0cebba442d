/**
 * The field table of the client-facing stream events: for each of upstream's 55 event types,
 * its top-level fields and their defaults (the component schemas of upstream's openapi.json),
 * checked against the event types at compile time. `normalizeStreamEvent` applies it.
 */

import type { StreamEvent } from 'src/protocol/stream-event-types';

/** A field the schema requires. */
export const REQUIRED = Symbol('required');
/** An optional field without a default: left out when absent. */
export const OPTIONAL = Symbol('optional');

/** The upstream events (`stream.reset` is ours). */
export type UpstreamEvent = Exclude<StreamEvent, { type: 'stream.reset' }>;

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
