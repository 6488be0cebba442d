import type { StreamEvent, StreamEventOf, StreamEventType } from '@omnigent-server/client';

/** One line of a session's transcript, as the console shows it. */
export type Entry =
  | { kind: 'user'; id: string; text: string }
  | { kind: 'assistant'; id: string; text: string }
  | {
      kind: 'tool';
      id: string;
      callId: string;
      name: string;
      args: string;
      output?: string;
      progress: string;
    }
  | { kind: 'error'; id: string; text: string }
  | { kind: 'note'; id: string; text: string };

/** A policy's question waiting for an answer (`response.elicitation_request`). */
export interface Approval {
  id: string;
  message: string;
  policy?: string;
  preview?: string;
}

export interface Transcript {
  entries: Entry[];
  /** Item ids already shown, so a replayed or re-listed item is not shown twice. */
  seen: ReadonlySet<string>;
  /** Text deltas of the reply being streamed; replaced by the final message when it arrives. */
  live: string;
  status: string;
  approvals: Approval[];
  /** The server pruned the events we asked to resume from: reload the items. */
  reset: boolean;
  /** Files changed: refresh the list. */
  filesChanged: number;
  counter: number;
}

export const emptyTranscript = (status = 'idle'): Transcript => ({
  entries: [],
  seen: new Set(),
  live: '',
  status,
  approvals: [],
  reset: false,
  filesChanged: 0,
  counter: 0,
});

interface ItemBody {
  id?: string;
  type?: string;
  role?: string;
  name?: string;
  call_id?: string;
  arguments?: string;
  output?: unknown;
  message?: string;
  error?: { code?: string; message?: string };
  content?: { type?: string; text?: string }[] | string;
}

/** A listed item (`{id, type, data}`) or a streamed one (flat): the flat body either way. */
export function itemBody(item: Record<string, unknown>): ItemBody {
  const data = item.data;
  if (data && typeof data === 'object' && !Array.isArray(data) && item.role === undefined) {
    return { ...(data as ItemBody), id: item.id as string, type: item.type as string };
  }
  return item as ItemBody;
}

function textOf(content: ItemBody['content']): string {
  if (typeof content === 'string') {
    return content;
  }
  return (content ?? []).map((part) => part.text ?? '').join('');
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** An entry before it has an id (distributes over the union, so each kind keeps its fields). */
type NewEntry = Entry extends infer E
  ? E extends Entry
    ? Omit<E, 'id'> & { id?: string }
    : never
  : never;

function withEntry(state: Transcript, entry: NewEntry): Transcript {
  const counter = state.counter + 1;
  const id = entry.id ?? `local-${counter}`;
  return { ...state, counter, entries: [...state.entries, { ...entry, id } as Entry] };
}

/** Adds a conversation item (message, tool call, tool output, error) once. */
export function applyItem(state: Transcript, raw: Record<string, unknown>): Transcript {
  const item = itemBody(raw);
  if (item.id && state.seen.has(item.id)) {
    return state;
  }
  const seen = new Set(state.seen);
  if (item.id) {
    seen.add(item.id);
  }
  const next = { ...state, seen };
  switch (item.type ?? '') {
    case 'message':
      if (item.role === 'assistant') {
        return {
          ...withEntry(next, { kind: 'assistant', id: item.id, text: textOf(item.content) }),
          live: '',
        };
      }
      return withEntry(next, { kind: 'user', id: item.id, text: textOf(item.content) });
    case 'function_call':
      return withEntry(next, {
        kind: 'tool',
        id: item.id,
        callId: item.call_id ?? item.id ?? '',
        name: item.name ?? 'tool',
        args: item.arguments ?? '',
        progress: '',
      });
    case 'function_call_output': {
      const index = next.entries.findIndex((e) => e.kind === 'tool' && e.callId === item.call_id);
      if (index >= 0) {
        const entries = [...next.entries];
        entries[index] = {
          ...(entries[index] as Extract<Entry, { kind: 'tool' }>),
          output: stringify(item.output),
        };
        return { ...next, entries };
      }
      return withEntry(next, {
        kind: 'note',
        id: item.id,
        text: `Tool output: ${stringify(item.output)}`,
      });
    }
    case 'error':
      return withEntry(next, {
        kind: 'error',
        id: item.id,
        text: item.error?.message ?? item.message ?? stringify(item.content ?? ''),
      });
    case 'reasoning':
      return next;
    default:
      return next;
  }
}

function updateTool(state: Transcript, callId: string, delta: string): Transcript {
  const index = state.entries.findIndex((e) => e.kind === 'tool' && e.callId === callId);
  if (index < 0) {
    return state;
  }
  const entries = [...state.entries];
  const tool = entries[index] as Extract<Entry, { kind: 'tool' }>;
  entries[index] = { ...tool, progress: tool.progress + delta };
  return { ...state, entries };
}

type Handler<K extends StreamEventType> = (
  state: Transcript,
  event: StreamEventOf<K>,
) => Transcript;

/** What each event type does to the transcript; the others (heartbeats, usage…) change nothing. */
const HANDLERS: { [K in StreamEventType]?: Handler<K> } = {
  'response.output_text.delta': (state, event) => ({ ...state, live: state.live + event.delta }),
  'response.output_item.done': (state, event) => applyItem(state, event.item),
  'session.input.consumed': (state, event) =>
    applyItem(state, { ...event.data.data, id: event.data.item_id, type: event.data.type }),
  'response.function_call_output.delta': (state, event) =>
    updateTool(state, event.call_id, event.delta),
  'response.error': (state, event) => {
    const tool = event.tool_name ? `${event.tool_name}: ` : '';
    return withEntry(state, {
      kind: 'error',
      text: `${tool}${event.error.message} (${event.error.code})`,
    });
  },
  'response.failed': (state, event) => {
    const error = event.response.error;
    const code = error?.code ? ` (${error.code})` : '';
    return withEntry(flushLive(state), {
      kind: 'error',
      text: `The turn failed: ${error?.message ?? 'unknown error'}${code}`,
    });
  },
  'response.incomplete': (state, event) =>
    withEntry(flushLive(state), {
      kind: 'note',
      text: `Stopped: ${event.response.incomplete_details?.reason ?? 'incomplete'}`,
    }),
  'response.cancelled': (state) => withEntry(flushLive(state), { kind: 'note', text: 'Cancelled' }),
  'response.completed': (state) => flushLive(state),
  'response.policy_denied': (state, event) =>
    withEntry(state, {
      kind: 'note',
      text: `Denied by policy${event.reason ? `: ${event.reason}` : ''}`,
    }),
  'session.status': (state, event) => {
    const next = { ...state, status: event.status };
    if (event.status === 'failed' && event.error) {
      return withEntry(next, { kind: 'error', text: `Session failed: ${event.error.message}` });
    }
    return next;
  },
  'response.elicitation_request': (state, event) => addApproval(state, event),
  'response.elicitation_resolved': (state, event) => removeApproval(state, event.elicitation_id),
  'session.resource.created': (state) => ({ ...state, filesChanged: state.filesChanged + 1 }),
  'session.resource.deleted': (state) => ({ ...state, filesChanged: state.filesChanged + 1 }),
  'stream.reset': (state) => ({ ...state, reset: true }),
};

/** Folds one stream event into the transcript. */
export function applyEvent(state: Transcript, event: StreamEvent): Transcript {
  const handler = HANDLERS[event.type] as Handler<typeof event.type> | undefined;
  return handler ? handler(state, event as never) : state;
}

/** Text streamed for a reply whose final message never came stays visible. */
function flushLive(state: Transcript): Transcript {
  if (!state.live) {
    return state;
  }
  return { ...withEntry(state, { kind: 'assistant', text: state.live }), live: '' };
}

export function addApproval(
  state: Transcript,
  event: {
    elicitation_id: string;
    params?: { message?: string; policy_name?: string | null; content_preview?: string | null };
  },
): Transcript {
  if (state.approvals.some((a) => a.id === event.elicitation_id)) {
    return state;
  }
  const approval: Approval = {
    id: event.elicitation_id,
    message: event.params?.message ?? 'Approval needed',
    policy: event.params?.policy_name ?? undefined,
    preview: event.params?.content_preview ?? undefined,
  };
  return { ...state, approvals: [...state.approvals, approval] };
}

export function removeApproval(state: Transcript, id: string): Transcript {
  return { ...state, approvals: state.approvals.filter((a) => a.id !== id) };
}
