import { SseFrame } from 'test/utils/sse-client';

/** The sub-agent tools of the parents in test/e2e/sub-agents.e2e-spec.ts. */
const TOOLS = [
  'tools:',
  '  helper:',
  '    type: agent',
  '    description: Repeats the task back.',
  '    prompt: Echo the task.',
  '    executor: {harness: echo}',
  '    max_sessions: 2',
  '  recaller:',
  '    type: agent',
  '    executor: {harness: echo}',
  '    pass_history: true',
  '  lister:',
  '    type: agent',
  '    prompt: List the workspace.',
  '    os_env: {type: caller_process, sandbox: {type: none}}',
  '  remote_only:',
  '    type: agent',
  '    executor: {harness: claude-sdk}',
  '  weather:',
  '    type: function',
  '    description: Current weather.',
  '    callable: tools.weather:get_weather',
];

export const CONFIG = (name: string, extra: string[] = []) =>
  [`name: ${name}`, 'executor: {harness: echo}', ...TOOLS, ...extra, ''].join('\n');

/** The parent asks before OS tools: so does its sub-agent, on the child session. */
export const ASKING = [
  'policies:',
  '  ask_os:',
  '    type: function',
  '    handler: omnigent.policies.builtins.safety.ask_on_os_tools',
];

export interface ChildSummary {
  id: string;
  object: string;
  parent_session_id: string;
  title: string;
  tool: string;
  session_name: string;
  kind: string;
  busy: boolean;
  agent_name: string;
  last_message_preview: string | null;
  last_task_error: Record<string, string> | null;
  pending_elicitations_count: number;
}

export interface Snapshot {
  id: string;
  status: string;
  kind: string;
  parent_session_id: string | null;
  root_conversation_id: string | null;
  runner_id: string | null;
  pending_elicitations: { elicitation_id: string }[];
}

export const ofType = (type: string) => (frame: SseFrame) => frame.json?.type === type;

/** The `child` of the parent's `session.child_session.updated` frames about one child, or all. */
export const railOf = (frames: SseFrame[], childId?: string) =>
  frames
    .filter(ofType('session.child_session.updated'))
    .filter((f) => childId === undefined || f.json?.child_session_id === childId)
    .map((f) => f.json?.child as Partial<ChildSummary>);

export const railHas =
  (childId: string, fields: Partial<ChildSummary>) =>
  (frame: SseFrame): boolean =>
    frame.json?.type === 'session.child_session.updated' &&
    frame.json.child_session_id === childId &&
    Object.entries(fields).every(
      ([key, value]) => (frame.json?.child as Record<string, unknown>)[key] === value,
    );
