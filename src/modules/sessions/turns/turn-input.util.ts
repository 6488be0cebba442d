import { parseItemData } from 'src/protocol/items';
import { ClientToolSpec, ElicitationAction } from 'src/protocol/runner-protocol';
import { SessionError } from 'src/modules/sessions/sessions.errors';
import type { ApprovalAnswer } from 'src/modules/sessions/turns/turn-policy.hooks';

/** Client-facing event types `POST …/events` accepts (spec/api-reference.md §3.8). */
export const CLIENT_EVENT_TYPES = [
  'message',
  'function_call_output',
  'compaction',
  'interrupt',
  'stop_session',
  'retry_session',
  'approval',
] as const;
export type ClientEventType = (typeof CLIENT_EVENT_TYPES)[number];

export function isClientEventType(type: string): type is ClientEventType {
  return (CLIENT_EVENT_TYPES as readonly string[]).includes(type);
}

/** The `data` of a posted event of an item type, checked like the item it becomes. */
export function eventData(
  type: 'message' | 'function_call_output' | 'compaction',
  data: unknown,
): Record<string, unknown> {
  const parsed = parseItemData(type, data ?? {});
  if ('error' in parsed) {
    throw SessionError.invalid(`Invalid data payload for event type ${type}: ${parsed.error}`);
  }
  return parsed.data;
}

const APPROVAL_ACTIONS: readonly string[] = ['accept', 'decline', 'cancel'];

/** The `data` of an `approval` event: `{elicitation_id, action, content?}`. */
export function approvalData(data: unknown): ApprovalAnswer {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  if (typeof d.elicitation_id !== 'string' || d.elicitation_id === '') {
    throw SessionError.invalid('An approval event needs data.elicitation_id');
  }
  if (typeof d.action !== 'string' || !APPROVAL_ACTIONS.includes(d.action)) {
    throw SessionError.invalid('data.action must be one of: accept, decline, cancel');
  }
  const content = d.content ?? null;
  if (content !== null && (typeof content !== 'object' || Array.isArray(content))) {
    throw SessionError.invalid('data.content must be an object');
  }
  return {
    elicitationId: d.elicitation_id,
    action: d.action as ElicitationAction,
    content: content as Record<string, unknown> | null,
  };
}

/** The OpenAI-style `tools` of a message: client-side tools for this turn. */
export function clientTools(
  tools: Record<string, unknown>[] | null | undefined,
): ClientToolSpec[] | undefined {
  if (!tools) {
    return undefined;
  }
  return tools.map((tool, index) => {
    const fn = (
      tool.type === 'function' && typeof tool.function === 'object' ? tool.function : tool
    ) as Record<string, unknown>;
    if (typeof fn.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(fn.name)) {
      throw SessionError.invalid(
        `tools[${index}] must be an OpenAI function tool with a valid name`,
      );
    }
    return {
      name: fn.name,
      description: typeof fn.description === 'string' ? fn.description : undefined,
      parameters:
        typeof fn.parameters === 'object' && fn.parameters !== null
          ? (fn.parameters as Record<string, unknown>)
          : undefined,
    };
  });
}

/** The code and message of a runner-reported failure, with the defaults a partial one gets. */
export function failureOf(error: unknown): { code: string; message: string } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  return {
    code: typeof e.code === 'string' ? e.code : 'runner_error',
    message: typeof e.message === 'string' ? e.message : 'The turn failed',
  };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
