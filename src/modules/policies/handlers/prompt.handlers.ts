import { PolicyHandlerDef } from 'src/modules/policies/engine/policy.types';
import {
  describeEvent,
  envelope,
  judgeAnswer,
} from 'src/modules/policies/handlers/judge-prompt.util';

const PROMPT = 'omnigent.policies.builtins.prompt';

const VERDICTS = { allow: 'ALLOW', deny: 'DENY', ask: 'ASK' } as const;

/**
 * `prompt_policy` (spec/policies.md §7 Prompt): the policy judge decides each event under the
 * author's natural-language policy. Fails closed: a judge error, timeout or malformed answer
 * DENYs.
 */
const promptPolicy: PolicyHandlerDef = {
  id: `${PROMPT}.prompt_policy`,
  kind: 'factory',
  name: 'Prompt Policy',
  description:
    'An LLM judge decides each request, tool call, tool result and response under the ' +
    "natural-language `prompt` (allow, deny or ask a human). `reason` replaces the judge's " +
    'reason on DENY and ASK. A judge error denies (fail closed).',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['prompt'],
    properties: {
      prompt: { type: 'string', minLength: 1, maxLength: 8000 },
      reason: { type: 'string', minLength: 1, maxLength: 500 },
    },
  },
  phases: ['request', 'tool_call', 'tool_result', 'response'],
  judged: true,
  create: (params) => {
    const prompt = params.prompt as string;
    const fixedReason = params.reason as string | undefined;
    return (event, judge) => {
      const answer = judgeAnswer(judge, (lookup) => ({
        field: 'action',
        choices: Object.keys(VERDICTS),
        system: envelope(
          lookup,
          'Answer "allow" when the event complies with the policy, "deny" when it violates ' +
            'it, "ask" when a human should decide.\n\nPolicy:\n' +
            prompt,
        ),
        user: describeEvent(lookup, event),
      }));
      if (!answer.ok) {
        return { result: 'DENY', reason: `prompt policy judge failed: ${answer.error}` };
      }
      const result = VERDICTS[answer.choice as keyof typeof VERDICTS];
      if (result === 'ALLOW') {
        return { result };
      }
      return { result, reason: fixedReason ?? (answer.reason || `judged ${answer.choice}`) };
    };
  },
};

export const PROMPT_HANDLERS: PolicyHandlerDef[] = [promptPolicy];
