import { IdPrefix, newId } from 'src/common/ids/ids';
import { NewItem } from 'src/modules/sessions/items.repository';

/** The `data` of a message item holding one text block. */
export function messageData(role: 'assistant' | 'user', text: string): Record<string, unknown> {
  return {
    role,
    content: [{ type: role === 'user' ? 'input_text' : 'output_text', text }],
  };
}

/** A valid completed user message of a fresh turn (runner-minted id form `msg_<hex>`). */
export function itemFactory(overrides: Partial<NewItem> = {}): NewItem {
  return {
    id: newId(IdPrefix.Message),
    response_id: newId(IdPrefix.Response),
    type: 'message',
    status: 'completed',
    created_by: null,
    data: messageData('user', 'hello there'),
    ...overrides,
  };
}
