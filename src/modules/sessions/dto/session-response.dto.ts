import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { ListEnvelopeDto } from 'src/common/pagination/pagination';
import { toUnixSeconds } from 'src/database/transformers';
import { StoredItem } from 'src/protocol/items';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { pricedCostUsd } from 'src/modules/sessions/usage-totals';

export class ConversationItemDto {
  @ApiProperty() id: string;
  @ApiProperty({ example: 'message' }) type: string;
  @ApiProperty({ example: 'completed' }) status: string;
  @ApiProperty() response_id: string;
  @ApiProperty() created_at: number;
  @ApiProperty({ type: 'object', additionalProperties: true }) data: Record<string, unknown>;
  @ApiPropertyOptional({ type: String, nullable: true }) created_by?: string | null;
}

/** upstream's SessionResponse (the snapshot): every field present, nulls included. */
export class SessionResponseDto {
  @ApiProperty({ example: 'conv_0194f1c2e3a4b5c6d7e8f90123456789' }) id: string;
  @ApiProperty() agent_id: string;
  @ApiProperty({ type: String, nullable: true }) agent_name: string | null;
  @ApiProperty({ enum: ['idle', 'running', 'waiting', 'failed'] }) status: string;
  @ApiProperty() created_at: number;
  @ApiProperty({ type: Number, nullable: true }) updated_at: number | null;
  @ApiProperty({ type: String, nullable: true }) title: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels: Record<
    string,
    string
  >;
  @ApiProperty({ type: [ConversationItemDto] }) items: ConversationItemDto[];
  @ApiProperty({ example: 'default' }) kind: string;
  @ApiProperty({ type: String, nullable: true }) parent_session_id: string | null;
  @ApiProperty({ type: String, nullable: true }) root_conversation_id: string | null;
  @ApiProperty({ type: String, nullable: true }) sub_agent_name: string | null;
  @ApiProperty({ type: String, nullable: true }) runner_id: string | null;
  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: 'True while the bound runner is connected.',
  })
  runner_online: boolean | null;
  @ApiProperty({ type: String, nullable: true }) host_id: string | null;
  @ApiProperty({ type: Boolean, nullable: true }) host_online: boolean | null;
  @ApiProperty() host_resumable: boolean;
  @ApiProperty({ type: String, nullable: true }) workspace: string | null;
  @ApiProperty({ type: String, nullable: true }) git_branch: string | null;
  @ApiProperty() archived: boolean;
  @ApiProperty({ type: String, nullable: true }) project_id: string | null;
  @ApiProperty({ type: Number, nullable: true }) permission_level: number | null;
  @ApiProperty({ type: String, nullable: true }) llm_model: string | null;
  @ApiProperty({ type: String, nullable: true }) harness: string | null;
  @ApiProperty({ type: String, nullable: true }) model_override: string | null;
  @ApiProperty({ type: String, nullable: true }) reasoning_effort: string | null;
  @ApiProperty({ type: String, nullable: true }) cost_control_mode_override: string | null;
  @ApiProperty({ type: String, nullable: true }) subagent_routing_override: string | null;
  @ApiProperty({ type: Number, nullable: true }) context_window: number | null;
  @ApiProperty({ type: Number, nullable: true }) last_total_tokens: number | null;
  @ApiProperty({ type: Number, nullable: true }) total_cost_usd: number | null;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true })
  usage_by_model: Record<string, unknown> | null;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: { type: 'string' } })
  last_task_error: Record<string, string> | null;
  @ApiProperty({ type: [Object] }) pending_elicitations: Record<string, unknown>[];
  @ApiProperty({ type: [Object] }) pending_inputs: Record<string, unknown>[];
  @ApiProperty({ type: [Object] }) todos: Record<string, unknown>[];
  @ApiProperty({ type: [Object] }) skills: Record<string, unknown>[];
  @ApiProperty({ type: [Object] }) model_options: Record<string, unknown>[];
  @ApiProperty() terminal_pending: boolean;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true })
  sandbox_status: Record<string, unknown> | null;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true }) mcp_startup: Record<
    string,
    unknown
  > | null;
  @ApiProperty({ type: String, nullable: true }) active_response_id: string | null;
  @ApiProperty({ type: Number, nullable: true }) background_task_count: number | null;
  @ApiProperty({ type: String, nullable: true }) external_session_id: string | null;
  @ApiProperty({ type: [String], nullable: true }) terminal_launch_args: string[] | null;
}

/** upstream's SessionListItem; null fields are left out of list rows. */
export class SessionListItemDto {
  @ApiProperty() id: string;
  @ApiProperty() agent_id: string;
  @ApiPropertyOptional() agent_name?: string;
  @ApiProperty({ enum: ['idle', 'running', 'waiting', 'failed'] }) status: string;
  @ApiProperty() created_at: number;
  @ApiProperty() updated_at: number;
  @ApiPropertyOptional() title?: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels: Record<
    string,
    string
  >;
  @ApiProperty() archived: boolean;
  @ApiPropertyOptional() owner?: string;
  @ApiPropertyOptional() runner_id?: string;
  @ApiProperty({ description: 'True while the bound runner is connected.' }) runner_online: boolean;
  @ApiPropertyOptional() host_id?: string;
  @ApiPropertyOptional() workspace?: string;
  @ApiPropertyOptional() parent_session_id?: string;
  @ApiPropertyOptional() reasoning_effort?: string;
  @ApiPropertyOptional() external_session_id?: string;
  @ApiPropertyOptional() permission_level?: number;
  @ApiProperty() pending_elicitations_count: number;
  @ApiProperty() comments_count: number;
  @ApiProperty() viewer_unread: boolean;
  @ApiPropertyOptional({ description: 'For search_query hits in message text.' })
  search_snippet?: string;
}

export class SessionListResponseDto extends ListEnvelopeDto {
  @ApiProperty({ type: [SessionListItemDto] }) data: SessionListItemDto[];
}

export class ItemListResponseDto extends ListEnvelopeDto {
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  data: Record<string, unknown>[];
}

export class ChildSessionSummaryDto {
  @ApiProperty() id: string;
  @ApiProperty({ example: 'child_session' }) object: 'child_session';
  @ApiProperty() parent_session_id: string;
  @ApiProperty({ type: String, nullable: true }) title: string | null;
  @ApiProperty({ type: String, nullable: true }) task_summary: string | null;
  @ApiProperty({ type: String, nullable: true }) tool: string | null;
  @ApiProperty({ type: String, nullable: true }) session_name: string | null;
  @ApiProperty({ example: 'sub_agent' }) kind: string;
  @ApiProperty() created_at: number;
  @ApiProperty() updated_at: number;
  @ApiProperty({ type: String, nullable: true }) agent_id: string | null;
  @ApiProperty({ type: String, nullable: true }) agent_name: string | null;
  @ApiProperty({ type: String, nullable: true }) current_task_id: string | null;
  @ApiProperty({ type: String, nullable: true }) current_task_status: string | null;
  @ApiProperty() busy: boolean;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels: Record<
    string,
    string
  >;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true })
  last_task_error: Record<string, string> | null;
  @ApiProperty({ type: String, nullable: true }) last_message_preview: string | null;
  @ApiProperty() pending_elicitations_count: number;
  @ApiProperty({ type: String, nullable: true }) routed_model: string | null;
  @ApiProperty({ type: String, nullable: true }) routing_decision_id: string | null;
}

export class ChildSessionListResponseDto extends ListEnvelopeDto {
  @ApiProperty({ type: [ChildSessionSummaryDto] }) data: ChildSessionSummaryDto[];
}

export class SessionDeletedResponseDto {
  @ApiProperty() id: string;
  @ApiProperty({ example: 'conversation.deleted' }) object: 'conversation.deleted';
  @ApiProperty() deleted: boolean;
}

export class CreatedSessionResponseDto {
  @ApiProperty() session_id: string;
  @ApiProperty() agent_id: string;
  @ApiProperty() agent_name: string;
}

export class EventAckResponseDto {
  @ApiProperty() queued: boolean;
  @ApiPropertyOptional() item_id?: string;
  @ApiPropertyOptional() recovered?: boolean;
  @ApiPropertyOptional() recovery?: string;
  /** A request-phase policy denied the message (it was not run). */
  @ApiPropertyOptional() denied?: boolean;
  @ApiPropertyOptional() reason?: string;
  /** A request-phase policy asked: the message waits for this approval. */
  @ApiPropertyOptional() elicitation_id?: string;
}

export interface Liveness {
  runnerOnline: boolean | null;
  hostOnline: boolean | null;
}

/** `last_task_error` is a map of strings: nulls are left out. */
export function lastTaskError(session: SessionEntity): Record<string, string> | null {
  if (session.liveStatus !== 'failed' || !session.lastError) {
    return null;
  }
  return Object.fromEntries(
    Object.entries(session.lastError).filter(([, v]) => typeof v === 'string'),
  ) as Record<string, string>;
}

/** `waiting` reads as `running`, as upstream's read paths do. */
function publicStatus(session: SessionEntity): string {
  return session.liveStatus === 'waiting' ? 'running' : session.liveStatus;
}

/** What a snapshot needs of the session's agent (the model is read from its spec). */
export type SnapshotAgent = Pick<AgentEntity, 'name' | 'harness' | 'spec'>;

function agentModel(agent: SnapshotAgent | null | undefined): string | null {
  const model = (agent?.spec as { executor?: { model?: unknown } } | undefined)?.executor?.model;
  return typeof model === 'string' ? model : null;
}

export function toConversationItem(item: StoredItem): ConversationItemDto {
  return {
    id: item.id,
    type: item.type,
    status: item.status,
    response_id: item.response_id,
    created_at: item.created_at,
    data: item.data,
    created_by: item.created_by,
  };
}

export function toSessionResponse(
  session: SessionEntity,
  agent: SnapshotAgent | null,
  items: StoredItem[],
  liveness: Liveness,
  permissionLevel: number | null,
  pendingElicitations: Record<string, unknown>[] = [],
): SessionResponseDto {
  return {
    id: session.id,
    agent_id: session.agentId,
    agent_name: agent?.name ?? null,
    status: publicStatus(session),
    created_at: toUnixSeconds(session.createdAt),
    updated_at: toUnixSeconds(session.updatedAt),
    title: session.title,
    labels: session.labels ?? {},
    items: items.map(toConversationItem),
    kind: session.kind,
    parent_session_id: session.parentSessionId,
    root_conversation_id: session.rootSessionId ?? session.id,
    sub_agent_name: session.subAgentName,
    runner_id: session.runnerId,
    runner_online: liveness.runnerOnline,
    host_id: session.hostId,
    host_online: liveness.hostOnline,
    host_resumable: false,
    workspace: session.workspace,
    git_branch: null,
    archived: session.archived,
    project_id: null,
    permission_level: permissionLevel,
    llm_model: agentModel(agent),
    harness: agent?.harness ?? null,
    model_override: session.modelOverride,
    reasoning_effort: session.reasoningEffort,
    cost_control_mode_override: session.costControlModeOverride,
    subagent_routing_override: session.subagentRoutingOverride,
    context_window: null,
    last_total_tokens: session.lastTotalTokens,
    total_cost_usd: pricedCostUsd(session.usageTotals),
    usage_by_model: null,
    last_task_error: lastTaskError(session),
    pending_elicitations: pendingElicitations,
    pending_inputs: [],
    todos: [],
    skills: [],
    model_options: [],
    terminal_pending: false,
    sandbox_status: null,
    mcp_startup: null,
    active_response_id: session.currentTurnId,
    background_task_count: null,
    external_session_id: session.externalSessionId,
    terminal_launch_args: session.terminalLaunchArgs,
  };
}

export function toSessionListItem(
  session: SessionEntity,
  agentName: string | null,
  permissionLevel: number | null,
  runnerOnline: boolean,
  pendingElicitationsCount: number,
  searchSnippet?: string | null,
): SessionListItemDto {
  const row: Record<string, unknown> = {
    id: session.id,
    agent_id: session.agentId,
    agent_name: agentName,
    status: publicStatus(session),
    created_at: toUnixSeconds(session.createdAt),
    updated_at: toUnixSeconds(session.updatedAt),
    title: session.title,
    labels: session.labels ?? {},
    archived: session.archived,
    owner: session.ownerId,
    runner_id: session.runnerId,
    runner_online: runnerOnline,
    host_id: session.hostId,
    workspace: session.workspace,
    parent_session_id: session.parentSessionId,
    reasoning_effort: session.reasoningEffort,
    external_session_id: session.externalSessionId,
    permission_level: permissionLevel,
    pending_elicitations_count: pendingElicitationsCount,
    comments_count: 0,
    viewer_unread: false,
    search_snippet: searchSnippet,
  };
  return Object.fromEntries(
    Object.entries(row).filter(([, v]) => v !== null && v !== undefined),
  ) as unknown as SessionListItemDto;
}

/** `last_message_preview` is the child's last message text, this long at most. */
export const CHILD_PREVIEW_LENGTH = 150;

export function childPreview(text: string | null | undefined): string | null {
  return text ? text.slice(0, CHILD_PREVIEW_LENGTH) : null;
}

/** A child's busy flag and current task, as the rail shows them. */
export function childTaskFields(
  session: Pick<SessionEntity, 'currentTurnId' | 'liveStatus'>,
): Pick<ChildSessionSummaryDto, 'busy' | 'current_task_id' | 'current_task_status'> {
  return {
    current_task_id: session.currentTurnId,
    current_task_status: session.currentTurnId ? 'running' : null,
    busy: session.liveStatus === 'running' || session.liveStatus === 'waiting',
  };
}

/** A child's title and the `{tool}:{session_name}` parts of it. */
export function childTitleFields(
  title: string | null,
): Pick<ChildSessionSummaryDto, 'title' | 'tool' | 'session_name'> {
  const [tool, sessionName] =
    title && title.includes(':') ? title.split(/:(.*)/s, 2) : [null, null];
  return { title, tool, session_name: sessionName };
}

export function toChildSessionSummary(
  session: SessionEntity,
  agentName: string | null,
  lastMessageText: string | null,
  pendingElicitationsCount: number,
): ChildSessionSummaryDto {
  const { title, tool, session_name } = childTitleFields(session.title);
  const { current_task_id, current_task_status, busy } = childTaskFields(session);
  return {
    id: session.id,
    object: 'child_session',
    parent_session_id: session.parentSessionId as string,
    title,
    task_summary: null,
    tool,
    session_name,
    kind: 'sub_agent',
    created_at: toUnixSeconds(session.createdAt),
    updated_at: toUnixSeconds(session.updatedAt),
    agent_id: session.agentId,
    agent_name: agentName,
    current_task_id,
    current_task_status,
    busy,
    labels: session.labels ?? {},
    last_task_error: lastTaskError(session),
    last_message_preview: childPreview(lastMessageText),
    pending_elicitations_count: pendingElicitationsCount,
    routed_model: null,
    routing_decision_id: null,
  };
}
