import { FlatItem, messageText } from 'src/protocol/items';
import { ToolDefinition } from 'src/runner/tools/tool';

/** Chat Completions request message (only the shapes we send). */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | {
      role: 'assistant';
      content: string | null;
      tool_calls?: {
        id: string;
        type: 'function';
        function: { name: string; arguments: string };
      }[];
    }
  | { role: 'tool'; tool_call_id: string; content: string };

type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

const DROPPED_CALL_OUTPUT = 'Error: no output was recorded for this tool call.';

/**
 * Builds the Chat Completions `messages` from the session history. Calls of one response that
 * follow each other (and the assistant text right before them) form one assistant message, as the
 * model produced them; tool answers without a call are dropped and calls without an answer get a
 * placeholder, because the API rejects both.
 */
export function buildChatMessages(instructions: string | null, history: FlatItem[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (instructions) {
    messages.push({ role: 'system', content: instructions });
  }
  // response_id of the item that produced the last message, when it is an assistant message.
  let lastAssistantResponse: string | null = null;
  for (const item of history) {
    const previous = messages[messages.length - 1];
    if (item.type === 'message' && (item.role === 'user' || item.role === 'assistant')) {
      const text = messageText(item);
      if (item.role === 'user') {
        messages.push({ role: 'user', content: text });
        lastAssistantResponse = null;
      } else {
        messages.push({ role: 'assistant', content: text });
        lastAssistantResponse = item.response_id;
      }
    } else if (item.type === 'function_call') {
      const call = {
        id: String(item.call_id),
        type: 'function' as const,
        function: { name: String(item.name), arguments: String(item.arguments ?? '') || '{}' },
      };
      if (previous?.role === 'assistant' && lastAssistantResponse === item.response_id) {
        previous.tool_calls = [...(previous.tool_calls ?? []), call];
      } else {
        messages.push({ role: 'assistant', content: null, tool_calls: [call] });
        lastAssistantResponse = item.response_id;
      }
    } else if (item.type === 'function_call_output') {
      messages.push({
        role: 'tool',
        tool_call_id: String(item.call_id),
        content: String(item.output ?? ''),
      });
      lastAssistantResponse = null;
    }
  }
  return pairToolMessages(messages);
}

function pairToolMessages(messages: ChatMessage[]): ChatMessage[] {
  const result: ChatMessage[] = [];
  let open: AssistantMessage | null = null;
  let answered = new Set<string>();
  const closeOpen = (): void => {
    for (const call of open?.tool_calls ?? []) {
      if (!answered.has(call.id)) {
        result.push({ role: 'tool', tool_call_id: call.id, content: DROPPED_CALL_OUTPUT });
      }
    }
    open = null;
    answered = new Set();
  };
  for (const message of messages) {
    if (message.role === 'tool') {
      const pending = open?.tool_calls?.some((call) => call.id === message.tool_call_id);
      if (pending && !answered.has(message.tool_call_id)) {
        answered.add(message.tool_call_id);
        result.push(message);
      }
      continue;
    }
    closeOpen();
    result.push(message);
    if (message.role === 'assistant' && message.tool_calls?.length) {
      open = message;
    }
  }
  closeOpen();
  return result;
}

export function toChatTools(tools: ToolDefinition[]): unknown[] {
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  }));
}
