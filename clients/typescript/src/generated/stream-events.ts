// Copied from src/protocol/stream-event-types.ts by scripts/generate.mjs: do not edit.
/**
 * The client-facing stream events: one interface per member of upstream's `ServerStreamEvent`
 * union (the component schemas of test/contract/omnigent-openapi.json), plus our `stream.reset`.
 * Table-like, hence its length: each interface mirrors its schema (required fields required,
 * fields with a schema default optional), `STREAM_EVENT_FIELDS` is checked against these types
 * at compile time, and `src/protocol/stream-events.spec.ts` fails when that table and the
 * schemas drift apart.
 */

/** API representation of a response (task execution result). */
export interface ResponseObject {
  background?: boolean;
  completed_at?: number | null;
  conversation?: ConversationRef | null;
  created_at: number;
  error?: ErrorDetail | null;
  id: string;
  incomplete_details?: IncompleteDetails | null;
  instructions?: string | null;
  model: string;
  object?: string;
  output?: Record<string, unknown>[];
  previous_response_id?: string | null;
  reasoning?: Record<string, string> | null;
  status: string;
  store?: boolean;
  usage?: Usage | null;
}

/** Inner `params` block of a `ElicitationRequestEvent`. */
export interface ElicitationRequestParams {
  content_preview?: string | null;
  message: string;
  mode?: 'form' | 'url';
  phase?: string | null;
  policy_name?: string | null;
  requestedSchema?: Record<string, unknown> | null;
  target_session_id?: string | null;
  url?: string | null;
}

/** Error block carried by `RetryEvent` and `ErrorEvent`. */
export interface RetryErrorDetail {
  code: string;
  detail?: Record<string, unknown> | null;
  message: string;
}

/** Inner payload of a `SessionInputConsumedEvent`. */
export interface SessionInputConsumedPayload {
  cleared_pending_id?: string | null;
  created_by?: string | null;
  data: Record<string, unknown>;
  item_id: string;
  type: string;
}

/** Inner payload of a `SessionInterruptedEvent`. */
export interface SessionInterruptedPayload {
  requested_at: number;
  response_id?: string | null;
}

/** One MCP server's startup state within a `session.mcp_startup` event. */
export interface McpServerStartup {
  error?: string | null;
  status: 'starting' | 'ready' | 'failed' | 'cancelled';
}

/** One user currently viewing a session (holding its SSE stream open). */
export interface PresenceViewer {
  idle?: boolean;
  joined_at: string;
  user_id: string;
}

/** Machine-readable error information attached to a failed response. */
export interface ErrorDetail {
  cause?: string | null;
  code: string;
  message: string;
  remediation?: string | null;
  title?: string | null;
}

/** Cumulative token/cost usage attributed to a single LLM model. */
export interface ModelUsage {
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  input_tokens?: number | null;
  output_tokens?: number | null;
  total_cost_usd?: number | null;
  total_tokens?: number | null;
}

/** Lightweight reference to a conversation, used in request and response bodies where only the conversation ID is needed. */
export interface ConversationRef {
  id: string;
}

/** Details explaining why a response is incomplete. */
export interface IncompleteDetails {
  reason: string;
}

/** Token usage statistics for a response. */
export interface Usage {
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
  context_tokens?: number | null;
  cost_usd?: number | null;
  input_tokens?: number;
  model?: string | null;
  output_tokens?: number;
  output_tokens_details?: UsageDetails;
  total_tokens?: number;
}

/** Breakdown of output token usage. */
export interface UsageDetails {
  reasoning_tokens?: number;
}

/** Request that the desktop renderer perform one browser action. */
export interface BrowserActionRequestEvent {
  action: string;
  action_id: string;
  args: Record<string, unknown>;
  sequence_number?: number | null;
  type: 'browser.action_request';
}

/** Terminal event for a turn cancelled before completion. */
export interface CancelledEvent {
  response: ResponseObject;
  sequence_number?: number | null;
  type: 'response.cancelled';
}

/** Server-side request that the client cancel a tunneled tool call. */
export interface ClientTaskCancelEvent {
  call_id?: string | null;
  sequence_number?: number | null;
  task_id: string;
  type: 'response.client_task.cancel';
}

/** Conversation history compaction has finished. */
export interface CompactionCompletedEvent {
  compacted_messages?: Record<string, unknown>[] | null;
  sequence_number?: number | null;
  summary?: string | null;
  summary_model?: string | null;
  total_tokens?: number | null;
  type: 'response.compaction.completed';
}

/** Conversation history compaction failed. */
export interface CompactionFailedEvent {
  sequence_number?: number | null;
  type: 'response.compaction.failed';
}

/** Conversation history is being compacted. */
export interface CompactionInProgressEvent {
  sequence_number?: number | null;
  type: 'response.compaction.in_progress';
}

/** Terminal event for a successfully completed turn. */
export interface CompletedEvent {
  response: ResponseObject;
  sequence_number?: number | null;
  type: 'response.completed';
}

/** Initial event emitted at the start of every streaming response. */
export interface CreatedEvent {
  response: ResponseObject;
  sequence_number?: number | null;
  type: 'response.created';
}

/** Synchronous request for a decision from upstream. */
export interface ElicitationRequestEvent {
  elicitation_id: string;
  method?: 'elicitation/create';
  params: ElicitationRequestParams;
  sequence_number?: number | null;
  type: 'response.elicitation_request';
}

/** Signal that a previously-published elicitation is no longer outstanding, even though no UI `approval` verdict was delivered through `POST /v1/sessions/{id}/events`. */
export interface ElicitationResolvedEvent {
  elicitation_id: string;
  sequence_number?: number | null;
  type: 'response.elicitation_resolved';
}

/** Non-recoverable error reported during the turn. */
export interface ErrorEvent {
  error: RetryErrorDetail;
  sequence_number?: number | null;
  source: 'llm' | 'execution' | 'tool';
  tool_name?: string | null;
  type: 'response.error';
}

/** Terminal event for a turn that ended with an error. */
export interface FailedEvent {
  response: ResponseObject;
  sequence_number?: number | null;
  type: 'response.failed';
}

/** Incremental output from an in-progress function call. */
export interface ToolOutputDeltaEvent {
  call_id: string;
  delta: string;
  sequence_number?: number | null;
  type: 'response.function_call_output.delta';
}

/** Keepalive event emitted on a fixed cadence during streaming. */
export interface HeartbeatEvent {
  last_event_seq?: number | null;
  sequence_number?: number | null;
  server_time?: string | null;
  type: 'response.heartbeat';
}

/** Event emitted once the task transitions to in-progress. */
export interface InProgressEvent {
  response: ResponseObject;
  sequence_number?: number | null;
  type: 'response.in_progress';
}

/** Terminal event for a turn that ended without completing (e.g. */
export interface IncompleteEvent {
  response: ResponseObject;
  sequence_number?: number | null;
  type: 'response.incomplete';
}

/** A streamed file output completed materializing. */
export interface OutputFileDoneEvent {
  content_type?: string | null;
  file_id: string;
  filename?: string | null;
  sequence_number?: number | null;
  type: 'response.output_file.done';
}

/** A conversation output item completed during the turn. */
export interface OutputItemDoneEvent {
  item: Record<string, unknown>;
  sequence_number?: number | null;
  type: 'response.output_item.done';
}

/** Incremental assistant-text token emitted during streaming. */
export interface OutputTextDeltaEvent {
  delta: string;
  final?: boolean | null;
  index?: number | null;
  message_id?: string | null;
  sequence_number?: number | null;
  type: 'response.output_text.delta';
}

/** Signal that a policy DENY was enforced on a native harness turn. */
export interface PolicyDeniedEvent {
  conversation_id: string;
  phase?: string;
  reason?: string;
  sequence_number?: number | null;
  type: 'response.policy_denied';
}

/** Optional event emitted between `created` and `in_progress` for background tasks that are queued before they start. */
export interface QueuedEvent {
  response: ResponseObject;
  sequence_number?: number | null;
  type: 'response.queued';
}

/** Marker emitted once when a reasoning block begins. */
export interface ReasoningStartedEvent {
  sequence_number?: number | null;
  type: 'response.reasoning.started';
}

/** Incremental reasoning-summary token. */
export interface ReasoningSummaryTextDeltaEvent {
  delta: string;
  sequence_number?: number | null;
  type: 'response.reasoning_summary_text.delta';
}

/** Incremental reasoning-text token (full chain-of-thought). */
export interface ReasoningTextDeltaEvent {
  delta: string;
  sequence_number?: number | null;
  type: 'response.reasoning_text.delta';
}

/** A retryable failure was caught and a retry is scheduled. */
export interface RetryEvent {
  attempt: number;
  delay_seconds: number;
  error: RetryErrorDetail;
  max_attempts: number;
  sequence_number?: number | null;
  source: 'llm' | 'tool';
  tool_name?: string | null;
  type: 'response.retry';
}

/** Bound-agent change on a live session. */
export interface SessionAgentChangedEvent {
  agent_id: string;
  agent_name: string;
  conversation_id: string;
  sequence_number?: number | null;
  type: 'session.agent_changed';
}

/** The session's changed-files list may have changed — refetch it. */
export interface SessionChangedFilesInvalidatedEvent {
  environment_id?: string;
  sequence_number?: number | null;
  session_id: string;
  type: 'session.changed_files.invalidated';
}

/** A child (sub-agent) session's status changed — pushed to the PARENT. */
export interface SessionChildSessionUpdatedEvent {
  child: Record<string, unknown>;
  child_session_id: string;
  conversation_id: string;
  sequence_number?: number | null;
  type: 'session.child_session.updated';
}

/** Active collaboration-mode update from a Codex-native session. */
export interface SessionCollaborationModeEvent {
  conversation_id: string;
  mode: string;
  sequence_number?: number | null;
  type: 'session.collaboration_mode';
}

/** A child (sub-agent) session was spawned from this session. */
export interface SessionCreatedEvent {
  agent_id?: string | null;
  child_session_id: string;
  conversation_id: string;
  parent_session_id?: string | null;
  sequence_number?: number | null;
  type: 'session.created';
}

/** Idle-stream keepalive on `GET /v1/sessions/{id}/stream`. */
export interface SessionHeartbeatEvent {
  sequence_number?: number | null;
  server_time?: string | null;
  type: 'session.heartbeat';
}

/** A queued input item was materialized into conversation history. */
export interface SessionInputConsumedEvent {
  data: SessionInputConsumedPayload;
  sequence_number?: number | null;
  type: 'session.input.consumed';
}

/** User-triggered cancel reached the loop. */
export interface SessionInterruptedEvent {
  data: SessionInterruptedPayload;
  sequence_number?: number | null;
  type: 'session.interrupted';
}

/** Per-MCP-server startup progress for a native harness session. */
export interface SessionMcpStartupEvent {
  conversation_id: string;
  sequence_number?: number | null;
  servers: Record<string, McpServerStartup>;
  type: 'session.mcp_startup';
}

/** Active-model report from a terminal-backed integration. */
export interface SessionModelEvent {
  conversation_id: string;
  model: string;
  sequence_number?: number | null;
  type: 'session.model';
}

/** Signal that a native session's model catalog has resolved. */
export interface SessionModelOptionsEvent {
  conversation_id: string;
  sequence_number?: number | null;
  type: 'session.model_options';
}

/** Active permission-mode update from a claude-native session. */
export interface SessionPermissionModeEvent {
  conversation_id: string;
  permission_mode: string;
  sequence_number?: number | null;
  type: 'session.permission_mode';
}

/** The session's viewer list changed — full state, not a delta. */
export interface SessionPresenceEvent {
  conversation_id: string;
  sequence_number?: number | null;
  type: 'session.presence';
  viewers: PresenceViewer[];
}

/** Active reasoning-effort update from a terminal-backed integration. */
export interface SessionReasoningEffortEvent {
  conversation_id: string;
  reasoning_effort?: string | null;
  sequence_number?: number | null;
  type: 'session.reasoning_effort';
}

/** A session resource was created. */
export interface SessionResourceCreatedEvent {
  resource: Record<string, unknown>;
  sequence_number?: number | null;
  type: 'session.resource.created';
}

/** A session resource was deleted. */
export interface SessionResourceDeletedEvent {
  resource_id: string;
  resource_type: string;
  sequence_number?: number | null;
  session_id: string;
  type: 'session.resource.deleted';
}

/** Managed-sandbox launch progress for a `host_type="managed"` session. */
export interface SessionSandboxStatusEvent {
  conversation_id: string;
  error?: string | null;
  sequence_number?: number | null;
  stage: 'provisioning' | 'cloning' | 'starting' | 'connecting' | 'ready' | 'failed';
  type: 'session.sandbox_status';
}

/** Signal that a session's runner-owned skills have resolved. */
export interface SessionSkillsEvent {
  conversation_id: string;
  sequence_number?: number | null;
  type: 'session.skills';
}

/** Session lifecycle status transition. */
export interface SessionStatusEvent {
  background_task_count?: number | null;
  blocked_on?: string | null;
  conversation_id: string;
  error?: ErrorDetail | null;
  response_id?: string | null;
  sequence_number?: number | null;
  status: 'idle' | 'launching' | 'running' | 'waiting' | 'failed';
  type: 'session.status';
}

/** This conversation was superseded by another and clients should follow to it. */
export interface SessionSupersededEvent {
  conversation_id: string;
  reason?: 'clear';
  sequence_number?: number | null;
  target_conversation_id: string;
  type: 'session.superseded';
}

/** A terminal's pane produced output (runner-determined activity pulse). */
export interface SessionTerminalActivityEvent {
  sequence_number?: number | null;
  session_id: string;
  terminal_id: string;
  type: 'session.terminal.activity';
}

/** Terminal spin-up status for a terminal-first session. */
export interface SessionTerminalPendingEvent {
  conversation_id: string;
  pending: boolean;
  sequence_number?: number | null;
  type: 'session.terminal_pending';
}

/** Session-title update from a terminal-backed integration. */
export interface SessionTitleEvent {
  conversation_id: string;
  sequence_number?: number | null;
  title: string;
  type: 'session.title';
}

/** Todo-list update from a Claude Code terminal-backed session. */
export interface SessionTodosEvent {
  conversation_id: string;
  sequence_number?: number | null;
  todos: Record<string, unknown>[];
  type: 'session.todos';
}

/** Token-usage update from a terminal-backed integration. */
export interface SessionUsageEvent {
  context_tokens?: number | null;
  context_window?: number | null;
  conversation_id: string;
  sequence_number?: number | null;
  total_cost_usd?: number | null;
  type: 'session.usage';
  usage_by_model?: Record<string, ModelUsage> | null;
}

/** Emitted when a turn is interrupted by the user or system. */
export interface TurnCancelledEvent {
  sequence_number?: number | null;
  session_id: string;
  type: 'turn.cancelled';
}

/** Emitted when a turn finishes successfully with no pending work. */
export interface TurnCompletedEvent {
  sequence_number?: number | null;
  session_id: string;
  type: 'turn.completed';
}

/** Emitted when a turn fails due to an LLM error, timeout, or crash. */
export interface TurnFailedEvent {
  error?: Record<string, unknown>;
  sequence_number?: number | null;
  session_id: string;
  type: 'turn.failed';
}

/** Emitted when the runner starts a new turn for a session. */
export interface TurnStartedEvent {
  sequence_number?: number | null;
  session_id: string;
  type: 'turn.started';
}

/**
 * Our extension (spec/runner-protocol.md §7): sent instead of a `Last-Event-ID` replay whose
 * events were pruned; the client re-reads the snapshot. Not part of upstream's union.
 */
export interface StreamResetEvent {
  type: 'stream.reset';
  conversation_id: string;
}

/** Every event a session stream carries, discriminated by `type`. */
export type StreamEvent =
  | BrowserActionRequestEvent
  | CancelledEvent
  | ClientTaskCancelEvent
  | CompactionCompletedEvent
  | CompactionFailedEvent
  | CompactionInProgressEvent
  | CompletedEvent
  | CreatedEvent
  | ElicitationRequestEvent
  | ElicitationResolvedEvent
  | ErrorEvent
  | FailedEvent
  | ToolOutputDeltaEvent
  | HeartbeatEvent
  | InProgressEvent
  | IncompleteEvent
  | OutputFileDoneEvent
  | OutputItemDoneEvent
  | OutputTextDeltaEvent
  | PolicyDeniedEvent
  | QueuedEvent
  | ReasoningStartedEvent
  | ReasoningSummaryTextDeltaEvent
  | ReasoningTextDeltaEvent
  | RetryEvent
  | SessionAgentChangedEvent
  | SessionChangedFilesInvalidatedEvent
  | SessionChildSessionUpdatedEvent
  | SessionCollaborationModeEvent
  | SessionCreatedEvent
  | SessionHeartbeatEvent
  | SessionInputConsumedEvent
  | SessionInterruptedEvent
  | SessionMcpStartupEvent
  | SessionModelEvent
  | SessionModelOptionsEvent
  | SessionPermissionModeEvent
  | SessionPresenceEvent
  | SessionReasoningEffortEvent
  | SessionResourceCreatedEvent
  | SessionResourceDeletedEvent
  | SessionSandboxStatusEvent
  | SessionSkillsEvent
  | SessionStatusEvent
  | SessionSupersededEvent
  | SessionTerminalActivityEvent
  | SessionTerminalPendingEvent
  | SessionTitleEvent
  | SessionTodosEvent
  | SessionUsageEvent
  | TurnCancelledEvent
  | TurnCompletedEvent
  | TurnFailedEvent
  | TurnStartedEvent
  | StreamResetEvent;

export type StreamEventType = StreamEvent['type'];

/** The event of one type. */
export type StreamEventOf<K extends StreamEventType> = Extract<StreamEvent, { type: K }>;
