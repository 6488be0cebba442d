import { AgentSubAgentToolWire } from 'src/protocol/agent-spec';
import { FlatItem } from 'src/protocol/items';
import { RpcError } from 'src/protocol/json-rpc';
import {
  SessionCreateChildParams,
  SessionCreateChildResult,
  SessionEventParams,
  SessionInitParams,
  TurnStartParams,
} from 'src/protocol/runner-protocol';
import { ErrorDetail } from 'src/protocol/stream-events';
import { SessionState } from 'src/runner/session-state';
import { ToolDefinition } from 'src/runner/tools/tool';

/** The arguments a sub-agent tool takes: the task for the sub-agent. */
export const SUB_AGENT_PARAMETERS = {
  type: 'object',
  properties: { input: { type: 'string', description: 'The task or question for the sub-agent.' } },
  required: ['input'],
};

/**
 * What the runner does for a sub-agent: asks the server for the child session, registers it (so
 * acks, approvals and cancels reach it like any session's, every event also shown to
 * `observe`), and runs its turn.
 */
export interface ChildSessions {
  /** `session.create_child`. */
  create(params: SessionCreateChildParams): Promise<SessionCreateChildResult>;
  open(init: SessionInitParams, observe: (params: SessionEventParams) => void): SessionState;
  /** Runs the turn (and whatever was queued behind it); resolves with its failure, if any. */
  run(child: SessionState, turn: TurnStartParams): Promise<ErrorDetail | undefined>;
}

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
export function taskOf(args: Record<string, unknown>): string {
  for (const key of ['input', 'prompt', 'task', 'message']) {
    if (typeof args[key] === 'string' && args[key]) {
      return args[key];
    }
  }
  return JSON.stringify(args);
}

/** The text of the last assistant message: the sub-agent's answer. */
export function finalAnswer(history: FlatItem[]): string {
  for (let i = history.length - 1; i >= 0; i--) {
    const item = history[i] as FlatItem & { role?: string; content?: unknown };
    if (item.type === 'message' && item.role === 'assistant' && Array.isArray(item.content)) {
      return (item.content as { text?: string }[]).map((block) => block.text ?? '').join('');
    }
  }
  return '';
}

/**
 * A `type: agent` tool call: the server creates a child session (`session.create_child`: its
 * agent, `max_sessions`, `pass_history` and its first message are the server's), and this runner
 * runs its turn under the child's id, so the child's events, items and approvals are its own.
 * The child's text also streams as the call's output deltas on the parent; its final answer is
 * the tool output.
 */
export async function runSubAgent(
  parent: SessionState,
  tool: AgentSubAgentToolWire,
  call: SubAgentCall,
  children: ChildSessions,
): Promise<string> {
  let created: SessionCreateChildResult;
  const input = taskOf(call.args);
  try {
    created = await children.create({
      parent_session_id: parent.id,
      turn_id: call.turnId,
      call_id: call.callId,
      tool: tool.name,
      input,
    });
  } catch (error) {
    if (call.signal.aborted) {
      throw call.signal.reason;
    }
    const code = error instanceof RpcError && error.dataCode ? `${error.dataCode}: ` : '';
    return `Error: the sub-agent ${tool.name} was not started: ${code}${(error as Error).message}`;
  }
  // Why the child's turn stopped short, if it did (interrupted, declined, out of iterations).
  let incomplete: string | undefined;
  const mirror = (params: SessionEventParams) => {
    const event = params.event as {
      type: string;
      delta?: unknown;
      response?: { incomplete_details?: { reason?: string } | null };
    };
    if (event.type === 'response.incomplete') {
      incomplete = event.response?.incomplete_details?.reason ?? 'incomplete';
    } else if (event.type === 'response.output_text.delta' && typeof event.delta === 'string') {
      parent.emit(
        { type: 'response.function_call_output.delta', call_id: call.callId, delta: event.delta },
        false,
        call.turnId,
      );
    }
  };
  // The server recorded the child's turn as running: it runs even when the parent was interrupted
  // meanwhile, and is interrupted with it (so it ends as response.incomplete, and idle).
  const child = children.open(created.init, mirror);
  const onAbort = () => child.current?.abort.abort(call.signal.reason);
  call.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const running = children.run(child, {
      session_id: created.session_id,
      turn_id: created.turn_id,
      input: {
        item_id: created.item_id,
        role: 'user',
        content: [{ type: 'input_text', text: input }],
      },
      running_published: true,
    });
    if (call.signal.aborted) {
      onAbort();
    }
    const failure = await running;
    if (call.signal.aborted) {
      throw call.signal.reason;
    }
    if (failure) {
      return `Error: the sub-agent ${tool.name} failed: ${failure.code}: ${failure.message}`;
    }
    const answer = finalAnswer(child.history);
    if (incomplete) {
      const last = answer ? `; its last message: ${answer}` : '';
      return `Error: the sub-agent ${tool.name} stopped before finishing (${incomplete})${last}`;
    }
    return answer;
  } finally {
    call.signal.removeEventListener('abort', onAbort);
  }
}
