import { EXAMPLE_IDS, EXAMPLE_TIME, listExample } from 'src/common/openapi/examples';
import type {
  ChildSessionSummaryDto,
  EventAckResponseDto,
  SessionDeletedResponseDto,
  SessionListItemDto,
  SessionResponseDto,
} from 'src/modules/sessions/dto/session-response.dto';

/** The documented request and response examples of the sessions routes (/docs "Try it out"). */
export const CREATE_SESSION_EXAMPLE = { agent_id: EXAMPLE_IDS.agent, title: 'First session' };

export const UPDATE_SESSION_EXAMPLE = { title: 'Renamed session', labels: { team: 'docs' } };

export const FORK_SESSION_EXAMPLE = { title: 'A fork' };

export const POST_MESSAGE_EXAMPLE = {
  type: 'message',
  data: { role: 'user', content: [{ type: 'input_text', text: 'Hello!' }] },
};

export const SESSION_EXAMPLE: SessionResponseDto = {
  id: EXAMPLE_IDS.session,
  agent_id: EXAMPLE_IDS.agent,
  agent_name: 'echo',
  status: 'idle',
  created_at: EXAMPLE_TIME,
  updated_at: EXAMPLE_TIME,
  title: 'First session',
  labels: {},
  items: [
    {
      id: EXAMPLE_IDS.item,
      type: 'message',
      status: 'completed',
      response_id: EXAMPLE_IDS.response,
      created_at: EXAMPLE_TIME,
      data: { role: 'user', content: [{ type: 'input_text', text: 'Hello!' }] },
      created_by: 'local',
    },
  ],
  kind: 'default',
  parent_session_id: null,
  root_conversation_id: null,
  sub_agent_name: null,
  runner_id: EXAMPLE_IDS.runner,
  runner_online: true,
  host_id: null,
  host_online: null,
  host_resumable: false,
  workspace: '/home/alice/project',
  git_branch: null,
  archived: false,
  project_id: null,
  permission_level: 3,
  llm_model: null,
  harness: 'echo',
  model_override: null,
  reasoning_effort: null,
  cost_control_mode_override: null,
  subagent_routing_override: null,
  context_window: null,
  last_total_tokens: null,
  total_cost_usd: null,
  usage_by_model: null,
  last_task_error: null,
  pending_elicitations: [],
  pending_inputs: [],
  todos: [],
  skills: [],
  model_options: [],
  terminal_pending: false,
  sandbox_status: null,
  mcp_startup: null,
  active_response_id: null,
  background_task_count: null,
  external_session_id: null,
  terminal_launch_args: null,
};

const SESSION_LIST_ITEM: SessionListItemDto = {
  id: EXAMPLE_IDS.session,
  agent_id: EXAMPLE_IDS.agent,
  agent_name: 'echo',
  status: 'idle',
  created_at: EXAMPLE_TIME,
  updated_at: EXAMPLE_TIME,
  title: 'First session',
  labels: {},
  archived: false,
  owner: 'local',
  runner_id: EXAMPLE_IDS.runner,
  runner_online: true,
  permission_level: 3,
  pending_elicitations_count: 0,
  comments_count: 0,
  viewer_unread: false,
};

export const SESSION_LIST_EXAMPLE = listExample(SESSION_LIST_ITEM);

export const ITEM_LIST_EXAMPLE = listExample({
  id: EXAMPLE_IDS.item,
  type: 'message',
  status: 'completed',
  response_id: EXAMPLE_IDS.response,
  created_at: EXAMPLE_TIME,
  role: 'user',
  content: [{ type: 'input_text', text: 'Hello!' }],
});

const CHILD_SESSION: ChildSessionSummaryDto = {
  id: EXAMPLE_IDS.session,
  object: 'child_session',
  parent_session_id: EXAMPLE_IDS.parentSession,
  title: 'Research task',
  task_summary: null,
  tool: 'spawn_agent',
  session_name: 'researcher',
  kind: 'sub_agent',
  created_at: EXAMPLE_TIME,
  updated_at: EXAMPLE_TIME,
  agent_id: EXAMPLE_IDS.agent,
  agent_name: 'echo',
  current_task_id: null,
  current_task_status: null,
  busy: false,
  labels: {},
  last_task_error: null,
  last_message_preview: 'Done.',
  pending_elicitations_count: 0,
  routed_model: null,
  routing_decision_id: null,
};

export const CHILD_SESSION_LIST_EXAMPLE = listExample(CHILD_SESSION);

export const SESSION_DELETED_EXAMPLE: SessionDeletedResponseDto = {
  id: EXAMPLE_IDS.session,
  object: 'conversation.deleted',
  deleted: true,
};

export const EVENT_ACK_EXAMPLE: EventAckResponseDto = { queued: true, item_id: EXAMPLE_IDS.item };
