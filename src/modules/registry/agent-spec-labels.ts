import { AgentSpecError, isMapping, Mapping } from 'src/modules/registry/agent-spec-validation';
import { AgentLabelWire } from 'src/protocol/agent-spec';

/**
 * The label parts of a spec's guardrails (spec/policies.md §2.4): a policy's `condition` gate and
 * `set_labels` whitelist, and the guardrails-level `labels` declarations. Label values are strings;
 * YAML scalars (`tier: 1`, `pii: true`) are read as their text.
 */

const MAX_LABEL_KEY = 256;
const MAX_LABEL_VALUE = 4096;

function labelKey(key: string, field: string): string {
  if (key.length === 0 || key.length > MAX_LABEL_KEY) {
    throw new AgentSpecError(`${field} label keys must be 1–${MAX_LABEL_KEY} characters`);
  }
  return key;
}

function labelValue(value: unknown, field: string): string {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new AgentSpecError(`${field} must be a string`);
  }
  const text = String(value);
  if (text.length > MAX_LABEL_VALUE) {
    throw new AgentSpecError(`${field} must be at most ${MAX_LABEL_VALUE} characters`);
  }
  return text;
}

function labelValues(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new AgentSpecError(`${field} must be a non-empty list of strings`);
  }
  return value.map((v, i) => labelValue(v, `${field}[${i}]`));
}

/** `condition: {key: value | [values]}`. */
export function parseCondition(
  value: unknown,
  field: string,
): Record<string, string | string[]> | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!isMapping(value) || Object.keys(value).length === 0) {
    throw new AgentSpecError(`${field} must be a non-empty mapping of label to value(s)`);
  }
  const out: Record<string, string | string[]> = {};
  for (const [key, wanted] of Object.entries(value)) {
    const at = `${field}.${labelKey(key, field)}`;
    out[key] = Array.isArray(wanted) ? labelValues(wanted, at) : labelValue(wanted, at);
  }
  return out;
}

/** `set_labels: [key, …]`. */
export function parseSetLabels(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!Array.isArray(value) || value.some((k) => typeof k !== 'string')) {
    throw new AgentSpecError(`${field} must be a list of label keys`);
  }
  return (value as string[]).map((k) => labelKey(k, field));
}

/** Guardrails-level `labels: {key: {initial?, values?}}`. */
export function parseLabelDecls(value: unknown): Record<string, AgentLabelWire> {
  if (value === undefined || value === null) {
    return {};
  }
  if (!isMapping(value)) {
    throw new AgentSpecError('labels must be a mapping of label to {initial, values}');
  }
  const out: Record<string, AgentLabelWire> = {};
  for (const [key, decl] of Object.entries(value)) {
    const field = `labels.${labelKey(key, 'labels').slice(0, 64)}`;
    const entry: Mapping = decl === null ? {} : (decl as Mapping);
    if (!isMapping(entry)) {
      throw new AgentSpecError(`${field} must be a mapping with initial and/or values`);
    }
    const values =
      entry.values === undefined ? undefined : labelValues(entry.values, `${field}.values`);
    const initial =
      entry.initial === undefined || entry.initial === null
        ? undefined
        : labelValue(entry.initial, `${field}.initial`);
    if (initial !== undefined && values && !values.includes(initial)) {
      throw new AgentSpecError(`${field}.initial must be one of ${field}.values`);
    }
    out[key] = {
      ...(initial !== undefined && { initial }),
      ...(values !== undefined && { values }),
    };
  }
  return out;
}

/** Guardrails-level `ask_timeout`: the default seconds an ASK waits (a policy's own wins). */
export function parseAskTimeout(value: unknown): number | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new AgentSpecError('ask_timeout must be a number of seconds > 0');
  }
  return value;
}
