import { newId } from 'src/common/ids/ids';
import { isItemType, ITEM_ID_PREFIX, ItemType, parseItemData } from 'src/protocol/items';
import {
  CreateSessionDto,
  REASONING_EFFORTS,
  SessionEventInputDto,
  UpdateSessionDto,
} from 'src/modules/sessions/dto/session-request.dto';
import type { NewItem } from 'src/modules/sessions/items.repository';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import type { SessionFields } from 'src/modules/sessions/sessions.repository';
import { SessionError } from 'src/modules/sessions/sessions.errors';

/** Semantic checks on session fields (spec/api-reference.md §3.2, §3.5): failures are 400s. */

const CLEAR_ALIASES = ['default', 'off', 'reset'];
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/;
const MAX_INITIAL_ITEMS = 1000;

const invalid = SessionError.invalid;

export function checkLabels(labels: Record<string, string> | null | undefined): void {
  for (const key of Object.keys(labels ?? {})) {
    if (
      key.startsWith('cost_control.') ||
      key === 'omnigent.turn_actor' ||
      key.startsWith('omnigent.pinned.')
    ) {
      throw invalid(`Label '${key}' is reserved`);
    }
    if (key.length === 0 || key.length > 256) {
      throw invalid('Label keys must be 1–256 characters');
    }
  }
  for (const value of Object.values(labels ?? {})) {
    if (value.length > 4096) {
      throw invalid('Label values must be at most 4096 characters');
    }
  }
}

/** Returns the stored value: null clears (PATCH aliases), undefined leaves unchanged. */
export function checkReasoningEffort(
  value: string | null | undefined,
  allowClear: boolean,
): string | null | undefined {
  if (value === undefined || value === null) {
    return value;
  }
  if (allowClear && CLEAR_ALIASES.includes(value)) {
    return null;
  }
  if (!(REASONING_EFFORTS as readonly string[]).includes(value)) {
    throw invalid(`reasoning_effort must be one of: ${REASONING_EFFORTS.join(', ')}`);
  }
  return value;
}

export function checkModelOverride(
  value: string | null | undefined,
  allowClear: boolean,
): string | null | undefined {
  if (value === undefined || value === null) {
    return value;
  }
  if (allowClear && CLEAR_ALIASES.includes(value)) {
    return null;
  }
  if (value.trim() === '' || !MODEL_ID.test(value)) {
    throw invalid(`model_override '${value}' is not a valid model id`);
  }
  return value;
}

/** `"on"` / `"off"`, or null (clears). */
export function checkOnOff(
  field: string,
  value: string | null | undefined,
): 'on' | 'off' | null | undefined {
  if (value === undefined || value === null || value === 'on' || value === 'off') {
    return value;
  }
  throw invalid(`${field} must be "on", "off" or null`);
}

export function checkTerminalLaunchArgs(args: string[] | null | undefined): void {
  if (args && (args.length > 256 || args.some((a) => a.length > 4096))) {
    throw invalid('terminal_launch_args allows at most 256 entries of at most 4096 characters');
  }
}

export function checkWorkspace(workspace: string | null | undefined): void {
  if (workspace === undefined || workspace === null) {
    return;
  }
  if (workspace.includes('\0')) {
    throw invalid('workspace must not contain NUL bytes');
  }
  if (!workspace.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(workspace)) {
    throw invalid('workspace must be an absolute path');
  }
}

/**
 * The words to search for, or undefined for no search. PostgreSQL splits them into lexemes
 * (PREFIX_TSQUERY), so `bob@example.com` or `1.5` stay whole, as they are in the index.
 */
export function searchText(search: string | undefined): string | undefined {
  const text = (search ?? '').trim();
  return text.length > 0 ? text.slice(0, 500) : undefined;
}

/** A session on a host names its workspace there: required with host_id, absolute (400). */
export function checkHostPlacement(
  hostId: string | null | undefined,
  workspace: string | null | undefined,
): void {
  if (hostId && !workspace) {
    throw invalid('workspace is required when host_id is set');
  }
}

/** What this server cannot create (yet): managed sandboxes, git worktrees, harness overrides. */
export function checkCreateSupported(dto: CreateSessionDto): void {
  if (dto.host_type === 'managed' || dto.sandbox_provider) {
    throw invalid('Managed sandboxes are not supported by this server');
  }
  if (dto.git) {
    throw invalid(
      dto.host_id
        ? 'git worktrees are not supported by this server yet'
        : 'git options require host_id',
    );
  }
  checkHostPlacement(dto.host_id, dto.workspace);
  if (dto.harness_override) {
    throw invalid(`harness_override '${dto.harness_override}' is not supported`);
  }
}

/** `initial_items` of a create: at most 1000, each a valid item of its type. */
export function checkInitialItems(items: SessionEventInputDto[]): void {
  if (items.length > MAX_INITIAL_ITEMS) {
    throw invalid(`initial_items allows at most ${MAX_INITIAL_ITEMS} items`);
  }
  items.forEach((item, index) => {
    if (!isItemType(item.type)) {
      throw invalid(`initial_items[${index}]: '${item.type}' is not an item type`);
    }
    const parsed = parseItemData(item.type, item.data ?? {});
    if ('error' in parsed) {
      throw invalid(`initial_items[${index}]: ${parsed.error}`);
    }
  });
}

/**
 * The `initial_items` of a create (checked): user messages to post as turns when a runner is
 * connected, and the rest to store as history (response id `seed`), each in order.
 */
export function splitInitialItems(
  items: SessionEventInputDto[],
  live: boolean,
): { messages: SessionEventInputDto[]; seeds: NewItem[] } {
  const messages: SessionEventInputDto[] = [];
  const seeds: NewItem[] = [];
  for (const item of items) {
    const type = item.type as ItemType;
    const parsed = parseItemData(type, item.data ?? {});
    if ('error' in parsed) {
      throw invalid(parsed.error);
    }
    if (live && type === 'message' && parsed.data.role === 'user') {
      messages.push(item);
      continue;
    }
    seeds.push({
      id: newId(ITEM_ID_PREFIX[type] ?? 'itm'),
      response_id: 'seed',
      type,
      status: 'completed',
      created_by: null,
      data: parsed.data,
    });
  }
  return { messages, seeds };
}

/**
 * The columns a PATCH changes (besides `runner_id`, which needs the runner directory), checked
 * as upstream checks them: null leaves a field alone, the clear aliases reset it.
 */
export function sessionUpdate(session: SessionEntity, dto: UpdateSessionDto): SessionFields {
  const fields: SessionFields = {};
  if (dto.collaboration_mode !== undefined && dto.collaboration_mode !== null) {
    throw invalid('collaboration_mode applies only to codex-native sessions');
  }
  if (dto.permission_mode !== undefined && dto.permission_mode !== null) {
    throw invalid('permission_mode applies only to claude-native sessions');
  }
  if (dto.project_id === null) {
    throw invalid('project_id cannot be null; use "" to unfile');
  }
  if (dto.project_id) {
    throw invalid('Projects are not supported by this server');
  }
  if (dto.title !== undefined && dto.title !== null) {
    fields.title = dto.title;
  }
  if (dto.labels) {
    checkLabels(dto.labels);
    fields.labels = { ...session.labels, ...dto.labels };
  }
  const effort = checkReasoningEffort(dto.reasoning_effort, true);
  if (effort !== undefined && dto.reasoning_effort !== null) {
    fields.reasoningEffort = effort;
  }
  const model = checkModelOverride(dto.model_override, true);
  if (model !== undefined && dto.model_override !== null) {
    fields.modelOverride = model;
  }
  if (dto.cost_control_mode_override !== undefined) {
    fields.costControlModeOverride = checkOnOff(
      'cost_control_mode_override',
      dto.cost_control_mode_override,
    );
  }
  if (dto.subagent_routing_override !== undefined) {
    fields.subagentRoutingOverride = checkOnOff(
      'subagent_routing_override',
      dto.subagent_routing_override,
    );
  }
  if (dto.external_session_id !== undefined && dto.external_session_id !== null) {
    if (session.externalSessionId && session.externalSessionId !== dto.external_session_id) {
      throw invalid('external_session_id is already set and cannot be changed');
    }
    fields.externalSessionId = dto.external_session_id;
  }
  if (dto.terminal_launch_args !== undefined) {
    checkTerminalLaunchArgs(dto.terminal_launch_args);
    fields.terminalLaunchArgs = dto.terminal_launch_args;
  }
  if (dto.archived !== undefined && dto.archived !== null) {
    fields.archived = dto.archived;
  }
  return fields;
}
