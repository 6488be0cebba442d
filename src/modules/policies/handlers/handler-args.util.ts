import { PolicyEvent } from 'src/modules/policies/engine/policy.types';

/** The arguments of a tool_call event (`{}` when they are not an object). */
export function toolArgs(event: PolicyEvent): Record<string, unknown> {
  const data = event.data as { arguments?: unknown } | null;
  const args = data && typeof data === 'object' ? data.arguments : undefined;
  return args && typeof args === 'object' && !Array.isArray(args)
    ? (args as Record<string, unknown>)
    : {};
}

/** The tool name of a tool phase event. */
export function toolName(event: PolicyEvent): string {
  const data = event.data as { name?: unknown } | null;
  if (event.target) {
    return event.target;
  }
  return data && typeof data === 'object' && typeof data.name === 'string' ? data.name : '';
}

/** The first string argument among `keys`. */
export function firstString(args: Record<string, unknown>, keys: string[]): string | undefined {
  for (const key of keys) {
    const value = args[key];
    if (typeof value === 'string' && value) {
      return value;
    }
  }
  return undefined;
}

/** The user's text of a request event (`{user_content}` or a bare string). */
export function requestText(event: PolicyEvent): string {
  if (typeof event.data === 'string') {
    return event.data;
  }
  const data = event.data as { user_content?: unknown } | null;
  return data && typeof data.user_content === 'string' ? data.user_content : '';
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
