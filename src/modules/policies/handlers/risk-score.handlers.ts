import { PolicyEvent, PolicyHandlerDef } from 'src/modules/policies/engine/policy.types';
import { toolName } from 'src/modules/policies/handlers/handler-args.util';

const RISK_SCORE = 'omnigent.policies.builtins.risk_score';
const DEFAULT_LABEL_KEYS = [
  'label_classification',
  'classification',
  'sensitivity',
  'sensitivity_label',
  'dlp_label',
];
// How deep a tool result's JSON is searched for classification labels.
const MAX_LABEL_DEPTH = 6;

const pointsMap = {
  type: 'object',
  maxProperties: 256,
  additionalProperties: { type: 'integer', minimum: -1_000_000, maximum: 1_000_000 },
  default: {},
};
const nameList = {
  type: 'array',
  maxItems: 256,
  items: { type: 'string', minLength: 1, maxLength: 256 },
};

/** `name` matches `tool` exactly or as an MCP-prefixed `<server>__<tool>`. */
export function toolMatches(tool: string, name: string): boolean {
  return tool === name || tool.endsWith(`__${name}`);
}

function pointsFor(tool: string, table: Readonly<Record<string, number>>): number {
  const exact = Object.hasOwn(table, tool) ? table[tool] : undefined;
  if (exact !== undefined) {
    return exact;
  }
  const key = Object.keys(table).find((name) => toolMatches(tool, name));
  return key === undefined ? 0 : table[key];
}

/**
 * The distinct classification values a tool result carries under one of `keys` (anywhere in its
 * JSON, a few levels deep), lower-cased. A result that is not JSON carries none.
 */
export function resultLabels(event: PolicyEvent, keys: readonly string[]): Set<string> {
  const found = new Set<string>();
  const raw = (event.data as { result?: unknown } | null)?.result;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      return found;
    }
  }
  const visit = (node: unknown, depth: number) => {
    if (depth > MAX_LABEL_DEPTH || !node || typeof node !== 'object') {
      return;
    }
    for (const [key, child] of Object.entries(node)) {
      if (keys.includes(key) && typeof child === 'string') {
        found.add(child.toLowerCase());
      } else {
        visit(child, depth + 1);
      }
    }
  };
  visit(value, 0);
  return found;
}

const riskScorePolicy: PolicyHandlerDef = {
  id: `${RISK_SCORE}.risk_score_policy`,
  kind: 'factory',
  name: 'Cumulative Risk Score',
  description:
    'Keeps a per-session risk score: each tool call adds its `tool_points`, each tool result ' +
    'carrying a `sensitive_labels` classification adds that label’s points. Once the score ' +
    'reaches `threshold`, calls to `guarded_tools` get `escalate_action` (ASK or DENY). Tool ' +
    'names match exactly or as MCP-prefixed `<server>__<name>`.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      threshold: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 50 },
      tool_points: pointsMap,
      sensitive_labels: pointsMap,
      guarded_tools: { ...nameList, default: [] },
      escalate_action: { type: 'string', enum: ['ASK', 'DENY'], default: 'ASK' },
      initial_scores_by_actor: pointsMap,
      state_key: { type: 'string', minLength: 1, maxLength: 128, default: 'risk_score' },
      label_keys: { ...nameList, default: DEFAULT_LABEL_KEYS },
      reason: { type: 'string', maxLength: 1024 },
    },
  },
  phases: ['tool_call', 'tool_result'],
  create: (params) => {
    const threshold = params.threshold as number;
    const toolPoints = params.tool_points as Record<string, number>;
    const sensitive = Object.fromEntries(
      Object.entries(params.sensitive_labels as Record<string, number>).map(([k, v]) => [
        k.toLowerCase(),
        v,
      ]),
    );
    const guarded = params.guarded_tools as string[];
    const action = params.escalate_action as 'ASK' | 'DENY';
    const initial = params.initial_scores_by_actor as Record<string, number>;
    const stateKey = params.state_key as string;
    const labelKeys = params.label_keys as string[];
    const reason = params.reason as string | undefined;
    return (event) => {
      const actor = event.context.actor.run_as ?? '';
      const stored = event.session_state[stateKey];
      const score =
        typeof stored === 'number' ? stored : Object.hasOwn(initial, actor) ? initial[actor] : 0;
      const tool = toolName(event);
      let added = 0;
      if (event.type === 'tool_call') {
        added = pointsFor(tool, toolPoints);
      } else {
        for (const label of resultLabels(event, labelKeys)) {
          added += Object.hasOwn(sensitive, label) ? sensitive[label] : 0;
        }
      }
      const next = score + added;
      // An unset score that stays 0 is not written (nothing to remember).
      const changed = typeof stored === 'number' ? next !== stored : next !== 0;
      const state_updates = changed ? [{ key: stateKey, action: 'set' as const, value: next }] : [];
      if (
        event.type === 'tool_call' &&
        next >= threshold &&
        guarded.some((name) => toolMatches(tool, name))
      ) {
        return {
          result: action,
          reason:
            reason ?? `Risk score ${next} reached the threshold ${threshold}: '${tool}' is guarded`,
          state_updates,
        };
      }
      return { result: 'ALLOW', state_updates };
    };
  },
};

export const RISK_SCORE_HANDLERS: PolicyHandlerDef[] = [riskScorePolicy];
