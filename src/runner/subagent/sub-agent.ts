import { IdPrefix, newId } from 'src/common/ids/ids';
import {
  AgentSpecWire,
  AgentSubAgentToolWire,
  AgentToolWire,
  BUILTIN_TOOL_NAMES,
} from 'src/protocol/agent-spec';
import { FlatItem } from 'src/protocol/items';
import { TurnStartParams } from 'src/protocol/runner-protocol';
import { ErrorDetail } from 'src/protocol/stream-events';
import { SessionState } from 'src/runner/session-state';
import { ToolDefinition } from 'src/runner/tools/tool';

/** The arguments a sub-agent tool takes: the task for the sub-agent. */
export const SUB_AGENT_PARAMETERS = {
  type: 'object',
  properties: { input: { type: 'string', description: 'The task or question for the sub-agent.' } },
  required: ['input'],
};

/** Runs one turn of a session (the runner's Turn; passed in to keep the import graph acyclic). */
export type RunChildTurn = (
  child: SessionState,
  params: TurnStartParams,
) => Promise<ErrorDetail | undefined>;

export interface SubAgentCall {
  callId: string;
  /** The parent turn, for the progress deltas it streams. */
  turnId: string;
  args: Record<string, unknown>;
  signal: AbortSignal;
}

export function subAgentDefinition(tool: AgentSubAgentToolWire): ToolDefinition {
  return {
    name: tool.name,
    description: tool.description ?? `Runs the sub-agent ${tool.name} and returns its answer.`,
    parameters: SUB_AGENT_PARAMETERS,
  };
}

/** The task text of the call: `input` (or upstream-ish synonyms), else the arguments as JSON. */
function taskOf(args: Record<string, unknown>): string {
  for (const key of ['input', 'prompt', 'task', 'message']) {
    if (typeof args[key] === 'string' && args[key]) {
      return args[key];
    }
  }
  return JSON.stringify(args);
}

/** The spec the child runs: the tool's instructions and executor, built-in OS tools only. */
function childSpec(parent: Partial<AgentSpecWire>, tool: AgentSubAgentToolWire): AgentSpecWire {
  const osEnv = tool.os_env === 'inherit' ? (parent.os_env ?? null) : tool.os_env;
  const tools: AgentToolWire[] = osEnv
    ? BUILTIN_TOOL_NAMES.map((name) => ({ name, runtime: 'server' as const }))
    : [];
  return {
    name: `${parent.name ?? 'agent'}.${tool.name}`,
    description: tool.description ?? null,
    instructions: tool.instructions,
    executor: tool.executor,
    os_env: osEnv,
    tools,
    policies: [],
    terminals: {},
    params: {},
    max_iterations: parent.max_iterations ?? 20,
  };
}

/** The parent's conversation for `pass_history`: its messages, without tool calls. */
function passedHistory(parent: SessionState): FlatItem[] {
  return parent.history.filter((item) => item.type === 'message');
}

function finalAnswer(history: FlatItem[]): string {
  for (let i = history.length - 1; i >= 0; i--) {
    const item = history[i] as FlatItem & { role?: string; content?: unknown };
    if (item.type === 'message' && item.role === 'assistant' && Array.isArray(item.content)) {
      return (item.content as { text?: string }[]).map((block) => block.text ?? '').join('');
    }
  }
  return '';
}

/**
 * A `type: agent` tool call: a child turn on this runner with the sub-agent's instructions and
 * executor, in the parent's workspace and under the parent's policies (its tool calls are
 * authorised against the parent session). Its text streams as the call's output deltas; its
 * final answer is the tool output. `max_sessions` caps the runs per parent session, counted from
 * the parent's history (durable across runner restarts).
 */
export async function runSubAgent(
  parent: SessionState,
  tool: AgentSubAgentToolWire,
  call: SubAgentCall,
  runTurn: RunChildTurn,
): Promise<string> {
  const runs = parent.history.filter(
    (item) => item.type === 'function_call' && (item as { name?: string }).name === tool.name,
  ).length;
  // The current call is in the history already.
  if (tool.max_sessions !== null && runs > tool.max_sessions) {
    return `Error: the sub-agent ${tool.name} may run at most ${tool.max_sessions} time(s) per session`;
  }
  const parentSpec = parent.init.agent.spec as Partial<AgentSpecWire>;
  const child = new SessionState(
    parent.id,
    {
      ...parent.init,
      agent: {
        ...parent.init.agent,
        spec: childSpec(parentSpec, tool),
      },
      history: tool.pass_history ? passedHistory(parent) : [],
      history_truncated: false,
      next_seq: 1,
    },
    (params) => {
      // Nothing of the child is persisted: its events are acknowledged here, and its text
      // becomes the progress of the parent's tool call.
      if (params.durable) {
        child.ack(params.seq);
      }
      const event = params.event as { type: string; delta?: unknown };
      if (event.type === 'response.output_text.delta' && typeof event.delta === 'string') {
        parent.emit(
          { type: 'response.function_call_output.delta', call_id: call.callId, delta: event.delta },
          false,
          call.turnId,
        );
      }
    },
  );
  const onAbort = () => child.current?.abort.abort(call.signal.reason);
  call.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const failure = await runTurn(child, {
      session_id: parent.id,
      turn_id: newId(IdPrefix.Response),
      input: {
        item_id: newId(IdPrefix.Message),
        role: 'user',
        content: [{ type: 'input_text', text: taskOf(call.args) }],
      },
      running_published: true,
    });
    if (call.signal.aborted) {
      throw call.signal.reason;
    }
    if (failure) {
      return `Error: the sub-agent ${tool.name} failed: ${failure.code}: ${failure.message}`;
    }
    return finalAnswer(child.history);
  } finally {
    call.signal.removeEventListener('abort', onAbort);
    child.detach();
  }
}
