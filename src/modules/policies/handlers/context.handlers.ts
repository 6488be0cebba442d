import { PolicyHandlerDef } from 'src/modules/policies/engine/policy.types';

const CONTEXT = 'omnigent.policies.builtins.context';

export const THRASH_STATE_KEY = '_policy_thrashing';

const ERROR_PREFIXES = /^\s*(error|exception|traceback|fatal|failed|\[denied)/i;

/** Heuristic: does a tool output look like a failure (error prefixes, JSON error payloads)? */
export function looksLikeError(output: string): boolean {
  if (ERROR_PREFIXES.test(output)) {
    return true;
  }
  try {
    const parsed = JSON.parse(output) as Record<string, unknown> | null;
    return Boolean(
      parsed &&
      typeof parsed === 'object' &&
      ((parsed.error !== undefined && parsed.error !== null && parsed.error !== false) ||
        parsed.is_error === true ||
        parsed.success === false),
    );
  } catch {
    return false;
  }
}

const detectThrashing: PolicyHandlerDef = {
  id: `${CONTEXT}.detect_thrashing`,
  kind: 'factory',
  name: 'Detect Thrashing',
  description:
    'Watches tool results: acts when `consecutive_threshold` results in a row look like errors, ' +
    'or when the error rate of the last `window` results reaches `window_error_rate` ' +
    '(0 disables either check).',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      action: { type: 'string', enum: ['ASK', 'DENY'], default: 'ASK' },
      consecutive_threshold: { type: 'integer', minimum: 0, maximum: 1000, default: 5 },
      window: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
      window_error_rate: { type: 'number', minimum: 0, maximum: 1, default: 0.8 },
    },
  },
  phases: ['tool_result'],
  create: (params) => {
    const consecutiveMax = params.consecutive_threshold as number;
    const window = params.window as number;
    const rate = params.window_error_rate as number;
    const action = params.action as 'ASK' | 'DENY';
    return (event) => {
      const data = event.data as { result?: unknown } | null;
      const output = typeof data?.result === 'string' ? data.result : '';
      const stored = (event.session_state[THRASH_STATE_KEY] ?? {}) as {
        consecutive?: number;
        recent?: number[];
      };
      const failed = looksLikeError(output);
      const consecutive = failed ? Number(stored.consecutive ?? 0) + 1 : 0;
      const recent = [...(Array.isArray(stored.recent) ? stored.recent : []), failed ? 1 : 0].slice(
        -window,
      );
      const state_updates = [
        { key: THRASH_STATE_KEY, action: 'set' as const, value: { consecutive, recent } },
      ];
      const errors = recent.reduce((a, b) => a + b, 0);
      if (consecutiveMax > 0 && consecutive >= consecutiveMax) {
        return {
          result: action,
          reason: `${consecutive} tool calls in a row failed; the agent may be thrashing`,
          state_updates,
        };
      }
      if (rate > 0 && recent.length >= window && errors / recent.length >= rate) {
        return {
          result: action,
          reason: `${errors} of the last ${recent.length} tool calls failed; the agent may be thrashing`,
          state_updates,
        };
      }
      return { result: 'ALLOW', state_updates };
    };
  },
};

export const CONTEXT_HANDLERS: PolicyHandlerDef[] = [detectThrashing];
