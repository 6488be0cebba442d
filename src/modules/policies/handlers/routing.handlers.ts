import { createHash } from 'node:crypto';

import { PolicyHandlerDef } from 'src/modules/policies/engine/policy.types';
import {
  describeEvent,
  envelope,
  fence,
  judgeAnswer,
} from 'src/modules/policies/handlers/judge-prompt.util';
import {
  requestText,
  toolArgs,
  toolName,
  truncate,
} from 'src/modules/policies/handlers/handler-args.util';
import { canonicalJson } from 'src/modules/policies/handlers/safety.handlers';

const ROUTING = 'omnigent.policies.builtins.routing';

export const INTENT_KEY = '_policy_intent';
export const INTENT_VERDICTS_KEY = '_policy_intent_verdicts';
const INTENT_MAX_CHARS = 4000;
const MAX_CACHED_VERDICTS = 200;

/**
 * `intent_based_authorization` (spec/policies.md §7 Routing): the session's first user message
 * is its intent; the judge checks each tool call against it (answers cached per call hash in
 * session_state); an inconsistent call, or one the judge could not check, asks a human.
 */
const intentBasedAuthorization: PolicyHandlerDef = {
  id: `${ROUTING}.intent_based_authorization`,
  kind: 'callable',
  name: 'Intent-Based Authorization',
  description:
    "Stores the session's first user message as its intent; an LLM judge checks every tool " +
    'call against it (cached per call) and asks a human when the call does not serve it.',
  paramsSchema: null,
  phases: ['request', 'tool_call'],
  judged: true,
  create: () => (event, judge) => {
    const intent = event.session_state[INTENT_KEY];
    if (event.type === 'request') {
      const text = requestText(event).trim();
      return typeof intent === 'string' || !text
        ? undefined
        : {
            result: 'ALLOW',
            state_updates: [
              { key: INTENT_KEY, action: 'set', value: truncate(text, INTENT_MAX_CHARS) },
            ],
          };
    }
    if (typeof intent !== 'string') {
      return undefined;
    }
    const tool = toolName(event);
    const hash = createHash('sha256')
      .update(canonicalJson({ args: toolArgs(event), intent, tool }))
      .digest('hex');
    const stored = event.session_state[INTENT_VERDICTS_KEY];
    const cache = (stored && typeof stored === 'object' ? stored : {}) as Record<string, string>;
    const cached = Object.hasOwn(cache, hash) ? cache[hash] : undefined;
    const answer = cached
      ? { ok: true as const, choice: cached, reason: 'cached' }
      : judgeAnswer(judge, (lookup) => ({
          field: 'classification',
          choices: ['consistent', 'inconsistent'],
          system: envelope(
            lookup,
            'Answer "consistent" when the tool call plausibly serves the user\'s stated intent, ' +
              '"inconsistent" when it does something the user did not ask for.',
          ),
          user: `User intent:\n${fence(lookup, intent)}\n\n${describeEvent(lookup, event)}`,
        }));
    if (!answer.ok) {
      return {
        result: 'ASK',
        reason: `could not check '${tool}' against the intent: ${answer.error}`,
      };
    }
    const state_updates = cached
      ? []
      : [
          {
            key: INTENT_VERDICTS_KEY,
            action: 'set' as const,
            value: Object.fromEntries(
              [...Object.entries(cache), [hash, answer.choice]].slice(-MAX_CACHED_VERDICTS),
            ),
          },
        ];
    return answer.choice === 'consistent'
      ? { result: 'ALLOW', state_updates }
      : {
          result: 'ASK',
          reason: `'${tool}' does not match the session's intent: ${answer.reason || 'inconsistent'}`,
          state_updates,
        };
  },
};

/**
 * `deny_trivial_to_expensive_model`: on an llm_request for one of `expensive_models` (substring,
 * case-insensitive), the judge classifies the last user message; TRIVIAL denies. Fails open: a
 * judge error abstains.
 */
const denyTrivialToExpensiveModel: PolicyHandlerDef = {
  id: `${ROUTING}.deny_trivial_to_expensive_model`,
  kind: 'factory',
  name: 'Deny Trivial Requests to Expensive Models',
  description:
    'On an LLM request to a model matching `expensive_models`, an LLM judge classifies the ' +
    'last user message; a trivial one is denied. A judge error lets the request through.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['expensive_models'],
    properties: {
      expensive_models: {
        type: 'array',
        minItems: 1,
        maxItems: 50,
        items: { type: 'string', minLength: 1, maxLength: 200 },
      },
      classification_prompt: { type: 'string', minLength: 1, maxLength: 4000 },
    },
  },
  phases: ['llm_request'],
  judged: true,
  create: (params) => {
    const tokens = (params.expensive_models as string[]).map((m) => m.toLowerCase());
    const custom = params.classification_prompt as string | undefined;
    return (event, judge) => {
      const data = (event.data ?? {}) as { model?: unknown; last_user_message?: unknown };
      const model = typeof data.model === 'string' ? data.model : (event.context.model ?? '');
      if (!tokens.some((t) => model.toLowerCase().includes(t))) {
        return undefined;
      }
      const message = typeof data.last_user_message === 'string' ? data.last_user_message : '';
      const answer = judgeAnswer(judge, (lookup) => ({
        field: 'classification',
        choices: ['trivial', 'non_trivial'],
        system: envelope(
          lookup,
          custom ??
            'Answer "trivial" when the user message is small talk or a question any small model ' +
              'answers well (greetings, thanks, simple facts), else "non_trivial".',
        ),
        user: `User message:\n${fence(lookup, truncate(message, INTENT_MAX_CHARS))}`,
      }));
      if (!answer.ok || answer.choice !== 'trivial') {
        return undefined;
      }
      return {
        result: 'DENY',
        reason: `A trivial request should not use the expensive model '${model}'`,
      };
    };
  },
};

export const ROUTING_HANDLERS: PolicyHandlerDef[] = [
  denyTrivialToExpensiveModel,
  intentBasedAuthorization,
];
