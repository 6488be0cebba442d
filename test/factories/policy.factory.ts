import {
  BoundPolicy,
  Phase,
  PolicyDecision,
  PolicyEvent,
} from 'src/modules/policies/engine/policy.types';

/** A policy that answers with `decision` (or runs it as a function) on the main phases. */
export function fixedPolicy(
  name: string,
  // Raw results too (lower-case verdicts, flat state maps): the engine normalises them.
  decision:
    | PolicyDecision
    | Record<string, unknown>
    | undefined
    | ((event: PolicyEvent) => PolicyDecision | undefined),
): BoundPolicy {
  return {
    name,
    source: 'session',
    handler: `test.${name}`,
    phases: ['request', 'tool_call', 'tool_result', 'response'],
    evaluate: typeof decision === 'function' ? decision : () => decision as PolicyDecision,
  };
}

export function toolCallEvent(
  name: string,
  args: Record<string, unknown> = {},
  state: Record<string, unknown> = {},
  type: Phase = 'tool_call',
  labels: Record<string, string> = {},
): PolicyEvent {
  return {
    type,
    target: name,
    data: { name, arguments: args },
    context: { actor: { run_as: 'local' }, model: null, harness: null, turn_id: 'resp_1', labels },
    session_state: state,
  };
}
