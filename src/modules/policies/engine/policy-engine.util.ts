import { JudgeLookup } from 'src/modules/policies/engine/judge.types';
import {
  BoundPolicy,
  EngineResult,
  LabelCondition,
  LabelDecl,
  PolicyDecision,
  PolicyEvent,
  StateUpdate,
} from 'src/modules/policies/engine/policy.types';

const VERDICTS = new Set(['ALLOW', 'DENY', 'ASK']);
const STATE_ACTIONS = new Set(['set', 'increment', 'delete', 'append']);
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Thrown for a malformed policy result or state write: the engine turns it into a DENY. */
export class PolicyResultError extends Error {}

/**
 * Composes the policies for one event (spec/policies.md §4): in order, a throwing policy denies,
 * the first DENY stops, every ASK is collected (reasons joined with "; "), `data` chains into
 * the next policy. Writes of an ASK verdict are returned but withheld (`applyWrites: false`).
 * A policy whose label `condition` does not match the labels the evaluation started with is
 * skipped; label writes pass the policy's `set_labels` whitelist and the declared label values.
 * Pure: the caller persists the writes (and asks the judge for the questions `judge` recorded).
 */
export function evaluatePolicies(
  policies: BoundPolicy[],
  event: PolicyEvent,
  labelDecls: Readonly<Record<string, LabelDecl>> = {},
  judge?: JudgeLookup,
): EngineResult {
  const writes: StateUpdate[] = [];
  const labels: Record<string, string> = {};
  const asks: { name: string; reason: string }[] = [];
  let state = event.session_state;
  let data = event.data;
  for (const policy of policies) {
    if (
      !policy.phases.includes(event.type) ||
      !conditionMatches(policy.condition, event.context.labels)
    ) {
      continue;
    }
    let decision: PolicyDecision | undefined;
    let updates: StateUpdate[];
    try {
      decision = normalizeDecision(
        policy.evaluate({ ...event, data, session_state: state }, judge),
      );
      updates = decision?.state_updates ?? [];
      // A state write that cannot apply (append to a non-list) fails the policy like a throw.
      state = applyStateUpdates(state, updates);
    } catch (error) {
      return {
        result: 'DENY',
        reason: `policy '${policy.name}' failed: ${(error as Error).message}`,
        deciding: [policy.name],
        writes,
        labels,
        applyWrites: true,
      };
    }
    writes.push(...updates);
    if (!decision) {
      continue;
    }
    Object.assign(labels, allowedLabels(policy, decision.set_labels, labelDecls));
    if (decision.result === 'DENY') {
      return {
        result: 'DENY',
        reason: decision.reason ?? `Denied by policy '${policy.name}'`,
        deciding: [policy.name],
        writes,
        labels,
        applyWrites: true,
      };
    }
    if (decision.data !== undefined) {
      data = decision.data;
    }
    if (decision.result === 'ASK') {
      asks.push({ name: policy.name, reason: decision.reason || 'approval required' });
    }
  }
  const changed = data !== event.data ? { data } : {};
  if (asks.length > 0) {
    return {
      result: 'ASK',
      reason: asks.map((a) => `${a.name}: ${a.reason}`).join('; '),
      deciding: asks.map((a) => a.name),
      writes,
      labels,
      applyWrites: false,
      ...changed,
    };
  }
  return { result: 'ALLOW', deciding: [], writes, labels, applyWrites: true, ...changed };
}

/** AND across keys, OR within a list; a label the conversation lacks never matches. */
export function conditionMatches(
  condition: LabelCondition | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (!condition) {
    return true;
  }
  return Object.entries(condition).every(([key, wanted]) => {
    const value = Object.hasOwn(labels, key) ? labels[key] : undefined;
    if (value === undefined) {
      return false;
    }
    return typeof wanted === 'string' ? value === wanted : wanted.includes(value);
  });
}

const MAX_LABEL_KEY = 256;
const MAX_LABEL_VALUE = 4096;
// Labels the server writes itself or cost controls own (the session API reserves them too).
const RESERVED_LABEL = /^(cost_control\.|omnigent\.turn_actor$|omnigent\.pinned\.)/;

/**
 * The label writes a policy may make: string values only, keys in its `set_labels` whitelist
 * (when declared) and, for a declared label with `values`, one of those values. The rest is
 * dropped silently, like upstream.
 */
export function allowedLabels(
  policy: Pick<BoundPolicy, 'setLabels'>,
  raw: Record<string, string> | undefined,
  decls: Readonly<Record<string, LabelDecl>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    const decl = Object.hasOwn(decls, key) ? decls[key] : undefined;
    if (
      typeof value !== 'string' ||
      key.length === 0 ||
      key.length > MAX_LABEL_KEY ||
      value.length > MAX_LABEL_VALUE ||
      RESERVED_KEYS.has(key) ||
      RESERVED_LABEL.test(key) ||
      (policy.setLabels && !policy.setLabels.includes(key)) ||
      (decl?.values && !decl.values.includes(value))
    ) {
      continue;
    }
    out[key] = value;
  }
  return out;
}

/** Checks a policy's result (case-insensitive verdict; a flat `{k: v}` map means `set`). */
export function normalizeDecision(raw: unknown): PolicyDecision | undefined {
  if (raw === undefined || raw === null) {
    return undefined;
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PolicyResultError('the policy returned something other than a result object');
  }
  const value = raw as Record<string, unknown>;
  const result = typeof value.result === 'string' ? value.result.toUpperCase() : '';
  if (!VERDICTS.has(result)) {
    throw new PolicyResultError(`invalid result '${String(value.result)}'`);
  }
  let updates: StateUpdate[] = [];
  const rawUpdates = value.state_updates;
  if (Array.isArray(rawUpdates)) {
    updates = rawUpdates.map(checkUpdate);
  } else if (rawUpdates && typeof rawUpdates === 'object') {
    updates = Object.entries(rawUpdates).map(([key, v]) =>
      checkUpdate({ key, action: 'set', value: v }),
    );
  }
  return {
    result: result as PolicyDecision['result'],
    ...(typeof value.reason === 'string' ? { reason: value.reason } : {}),
    ...(value.data !== undefined ? { data: value.data } : {}),
    state_updates: updates,
    ...(isMapping(value.set_labels)
      ? { set_labels: value.set_labels as Record<string, string> }
      : {}),
  };
}

function isMapping(value: unknown): boolean {
  return Boolean(value) && typeof value === 'object' && !Array.isArray(value);
}

function checkUpdate(raw: unknown): StateUpdate {
  const u = raw as Partial<StateUpdate> | null;
  if (!u || typeof u.key !== 'string' || !u.key || RESERVED_KEYS.has(u.key)) {
    throw new PolicyResultError('a state update needs a valid key');
  }
  if (!STATE_ACTIONS.has(u.action as string)) {
    throw new PolicyResultError(`invalid state action '${String(u.action)}'`);
  }
  return { key: u.key, action: u.action as StateUpdate['action'], value: u.value };
}

/** The state after the updates (a new object; the input is left as it is). */
export function applyStateUpdates(
  state: Readonly<Record<string, unknown>>,
  updates: StateUpdate[],
): Record<string, unknown> {
  const next: Record<string, unknown> = Object.assign(Object.create(null) as object, state);
  for (const u of updates) {
    switch (u.action) {
      case 'set':
        next[u.key] = u.value;
        break;
      case 'increment': {
        const current = next[u.key] ?? 0;
        const by = u.value ?? 1;
        if (typeof current !== 'number' || typeof by !== 'number') {
          throw new PolicyResultError(`cannot increment '${u.key}'`);
        }
        next[u.key] = current + by;
        break;
      }
      case 'delete':
        delete next[u.key];
        break;
      case 'append': {
        const current = next[u.key] ?? [];
        if (!Array.isArray(current)) {
          throw new PolicyResultError(`cannot append to '${u.key}': not a list`);
        }
        next[u.key] = [...(current as unknown[]), u.value];
        break;
      }
    }
  }
  return { ...next };
}
