/**
 * Conversation items (spec/api-reference.md §3.7, Appendix A.2). Stored as `{id, response_id,
 * type, status, created_at, created_by, data}`; `GET …/items` and `response.output_item.done`
 * use the flattened shape (data fields spread at the top level), the snapshot the nested one.
 */

export const ITEM_TYPES = [
  'message',
  'function_call',
  'function_call_output',
  'error',
  'reasoning',
  'compaction',
  'native_tool',
  'resource_event',
  'routing_decision',
  'slash_command',
  'terminal_command',
] as const;
export type ItemType = (typeof ITEM_TYPES)[number];

export interface StoredItem {
  id: string;
  response_id: string;
  type: ItemType;
  status: string;
  created_at: number;
  created_by: string | null;
  data: Record<string, unknown>;
}

export type FlatItem = Omit<StoredItem, 'data' | 'created_by'> & { created_by?: string } & Record<
    string,
    unknown
  >;

type FieldRule =
  | 'string'
  | 'string?'
  | 'integer'
  | 'integer?'
  | 'boolean?'
  | 'array'
  | 'array?'
  | 'object'
  | 'object?'
  | 'any';

/** Data fields per item type; `?` = optional (omitted when absent). */
export const ITEM_DATA_FIELDS: Record<ItemType, Record<string, FieldRule>> = {
  message: {
    role: 'string',
    content: 'array',
    model: 'string?',
    is_meta: 'boolean?',
    interrupted: 'boolean?',
  },
  function_call: { model: 'string', name: 'string', arguments: 'string', call_id: 'string' },
  function_call_output: { call_id: 'string', output: 'string' },
  error: { source: 'string', code: 'string', message: 'string' },
  reasoning: { model: 'string', summary: 'array', content: 'array?', encrypted_content: 'string?' },
  compaction: {
    summary: 'string',
    last_item_id: 'string',
    token_count: 'integer',
    model: 'string?',
    window_id: 'integer?',
    compacted_messages: 'array?',
  },
  native_tool: { item: 'object' },
  resource_event: {
    event_type: 'string',
    resource_id: 'string',
    resource_type: 'string',
    resource: 'object?',
  },
  routing_decision: {
    model: 'string',
    applied: 'boolean?',
    rationale: 'string',
    agent: 'string?',
    attempted_override: 'string?',
    decision_id: 'string?',
    harness: 'string?',
    raw_model: 'string?',
    router_source: 'string?',
    scope: 'string?',
  },
  slash_command: {
    model: 'string',
    name: 'string',
    arguments: 'string',
    kind: 'string?',
    output: 'string?',
  },
  terminal_command: { kind: 'string', input: 'string?', stdout: 'string?', stderr: 'string?' },
};

const ENUMS: Partial<Record<ItemType, Record<string, readonly string[]>>> = {
  message: { role: ['user', 'assistant'] },
  error: { source: ['llm', 'execution', 'tool'] },
  slash_command: { kind: ['skill', 'command'] },
  terminal_command: { kind: ['input', 'output'] },
};

/** Id prefix for each item type our runner mints (spec/runner-protocol.md §6 rule 1). */
export const ITEM_ID_PREFIX: Partial<Record<ItemType, string>> = {
  message: 'msg',
  function_call: 'fc',
  function_call_output: 'fco',
  reasoning: 'rs',
  error: 'err',
  compaction: 'cmp',
};

export function isItemType(value: unknown): value is ItemType {
  return typeof value === 'string' && (ITEM_TYPES as readonly string[]).includes(value);
}

function checkRule(rule: FieldRule, value: unknown): boolean {
  const base = rule.replace('?', '');
  switch (base) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return true;
  }
}

/**
 * Validates an item's data against its type and returns only the known fields (absent optionals
 * left out). Returns an error message instead when it does not parse.
 */
export function parseItemData(
  type: ItemType,
  data: unknown,
): { data: Record<string, unknown> } | { error: string } {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return { error: `data for '${type}' must be an object` };
  }
  const input = data as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [field, rule] of Object.entries(ITEM_DATA_FIELDS[type])) {
    const value = input[field];
    const optional = rule.endsWith('?');
    if (value === undefined || (optional && value === null)) {
      if (!optional) {
        return { error: `data.${field} is required for '${type}'` };
      }
      continue;
    }
    if (!checkRule(rule, value)) {
      return {
        error: `data.${field} has the wrong type for '${type}' (expected ${rule.replace('?', '')})`,
      };
    }
    const allowed = ENUMS[type]?.[field];
    if (allowed && !allowed.includes(value as string)) {
      return { error: `data.${field} must be one of ${allowed.join(', ')}` };
    }
    out[field] = value;
  }
  if (type === 'message') {
    const blocks = out.content as unknown[];
    if (
      !blocks.every(
        (b) => b && typeof b === 'object' && typeof (b as { type?: unknown }).type === 'string',
      )
    ) {
      return { error: 'data.content must be a list of content blocks with a type' };
    }
  }
  return { data: out };
}

export function flattenItem(item: StoredItem): FlatItem {
  const flat: Record<string, unknown> = {
    id: item.id,
    response_id: item.response_id,
    type: item.type,
    status: item.status,
    created_at: item.created_at,
    ...item.data,
  };
  if (item.created_by) {
    flat.created_by = item.created_by;
  }
  return flat as FlatItem;
}

/** The plain text of a message's content blocks (for search and previews). */
export function messageText(data: Record<string, unknown>): string {
  const content = Array.isArray(data.content) ? data.content : [];
  return content
    .map((block) => {
      const b = block as { type?: string; text?: unknown };
      return typeof b.text === 'string' ? b.text : '';
    })
    .filter(Boolean)
    .join('\n');
}

/** Splits a flat item back into its stored parts; returns an error message when it is invalid. */
export function unflattenItem(
  flat: Record<string, unknown>,
): { item: Omit<StoredItem, 'created_at'> & { created_at?: number } } | { error: string } {
  const type = flat.type;
  if (!isItemType(type)) {
    return { error: `unknown item type '${String(type)}'` };
  }
  if (typeof flat.id !== 'string') {
    return { error: 'item has no id' };
  }
  const parsed = parseItemData(type, flat);
  if ('error' in parsed) {
    return parsed;
  }
  return {
    item: {
      id: flat.id,
      type,
      response_id: typeof flat.response_id === 'string' ? flat.response_id : '',
      status: typeof flat.status === 'string' ? flat.status : 'completed',
      created_at: typeof flat.created_at === 'number' ? flat.created_at : undefined,
      created_by: typeof flat.created_by === 'string' ? flat.created_by : null,
      data: parsed.data,
    },
  };
}
