import { PolicyEvent, StateUpdate } from 'src/modules/policies/engine/policy.types';
import { toolArgs, toolName } from 'src/modules/policies/handlers/handler-args.util';

/** Upstream's server prefixes of the Google Workspace MCP tools (standard and hosted). */
export const GOOGLE_TOOL_PREFIXES = ['mcp__google__', 'google__'];
// How deep a tool result's JSON is searched for created ids.
const MAX_ID_DEPTH = 20;
const URL_ID_PATTERNS = [
  /\/document\/d\/([\w-]+)/,
  /\/spreadsheets\/d\/([\w-]+)/,
  /\/presentation\/d\/([\w-]+)/,
  /\/file\/d\/([\w-]+)/,
];
const GOOGLE_HOSTS = new Set(['drive.google.com', 'docs.google.com']);

/** The JSON Schema of a list of ids or Google URLs. */
export const idList = (description: string) => ({
  type: 'array',
  maxItems: 1000,
  items: { type: 'string', minLength: 1, maxLength: 2048 },
  default: [],
  description,
});

/** The params every Google handler shares: `tool_prefixes` and `deny_reason`. */
export const commonGoogleParams = (deny: string) => ({
  tool_prefixes: {
    type: 'array',
    maxItems: 32,
    items: { type: 'string', minLength: 1, maxLength: 128 },
    default: GOOGLE_TOOL_PREFIXES,
    description: 'Server prefixes stripped from tool names (any other `<server>__` also is).',
  },
  deny_reason: { type: 'string', maxLength: 1024, default: deny },
});

/**
 * The Google tool name without its server prefix: the first of `prefixes` it starts with, else
 * any `<server>__` (the part after the last `__`, as MCP tools are matched elsewhere).
 */
export function canonicalTool(tool: string, prefixes: readonly string[]): string {
  const prefix = prefixes.find((p) => tool.startsWith(p));
  if (prefix) {
    return tool.slice(prefix.length);
  }
  const cut = tool.lastIndexOf('__');
  return cut >= 0 ? tool.slice(cut + 2) : tool;
}

/** A bare Google file id from an id or a Docs/Sheets/Slides/Drive URL. */
export function fileRef(value: string): string {
  const trimmed = value.trim();
  for (const pattern of URL_ID_PATTERNS) {
    const match = pattern.exec(trimmed);
    if (match) {
      return match[1];
    }
  }
  try {
    const url = new URL(trimmed);
    if (GOOGLE_HOSTS.has(url.hostname) && url.searchParams.get('id')) {
      return url.searchParams.get('id')!;
    }
  } catch {
    // Not a URL: a bare id.
  }
  return trimmed;
}

export const fileRefs = (values: readonly string[]): Set<string> =>
  new Set(values.map(fileRef).filter(Boolean));

/** The ids a call's arguments name under `keys` (empty for a call that names none). */
export function argIds(args: Record<string, unknown>, keys: readonly string[]): Set<string> {
  const ids = new Set<string>();
  for (const key of keys) {
    const value = args[key];
    if (typeof value === 'string' && fileRef(value)) {
      ids.add(fileRef(value));
    }
  }
  return ids;
}

/** Every id in `items` is in one of `sets`; false for no items (an unscoped call). */
export function allIn(items: ReadonlySet<string>, ...sets: ReadonlySet<string>[]): boolean {
  return items.size > 0 && [...items].every((id) => sets.some((s) => s.has(id)));
}

/** A session_state list as a set (empty when absent or not a list). */
export function trackedIds(event: PolicyEvent, key: string): Set<string> {
  const raw = event.session_state[key];
  return new Set(Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : []);
}

/** The string values under `keys` anywhere in a tool result's JSON (a few levels deep). */
export function resultIds(event: PolicyEvent, keys: ReadonlySet<string>): Set<string> {
  const found = new Set<string>();
  let value = (event.data as { result?: unknown } | null)?.result;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return found;
    }
  }
  const visit = (node: unknown, depth: number) => {
    if (depth > MAX_ID_DEPTH || !node || typeof node !== 'object') {
      return;
    }
    for (const [key, child] of Object.entries(node)) {
      if (keys.has(key) && typeof child === 'string' && child.trim()) {
        found.add(child.trim());
      }
      visit(child, depth + 1);
    }
  };
  visit(value, 0);
  return found;
}

/** `append` writes for the ids not yet in the session_state list `key`, sorted. */
export function appendNew(event: PolicyEvent, key: string, ids: Set<string>): StateUpdate[] {
  const known = trackedIds(event, key);
  return [...ids]
    .filter((id) => !known.has(id))
    .sort()
    .map((value) => ({ key, action: 'append' as const, value }));
}

/** The canonical tool and arguments of a tool phase event. */
export function googleCall(event: PolicyEvent, prefixes: readonly string[]) {
  const raw = toolName(event);
  return { raw, tool: canonicalTool(raw, prefixes), args: toolArgs(event) };
}
