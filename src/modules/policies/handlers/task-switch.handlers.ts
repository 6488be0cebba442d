import { PolicyHandlerDef } from 'src/modules/policies/engine/policy.types';
import { requestText, truncate } from 'src/modules/policies/handlers/handler-args.util';
import { envelope, fence, judgeAnswer } from 'src/modules/policies/handlers/judge-prompt.util';

export const TASK_HISTORY_KEY = '_policy_task_history';
const MESSAGE_MAX_CHARS = 2000;

/**
 * `context.detect_task_switch` (spec/policies.md §7 Context): keeps the session's recent user
 * messages in session_state; once `min_turns` are known, the judge classifies a new message as
 * a CONTINUATION or a TASK_SWITCH, and a switch gets `action`. A judge error abstains.
 */
const detectTaskSwitch: PolicyHandlerDef = {
  id: 'omnigent.policies.builtins.context.detect_task_switch',
  kind: 'factory',
  name: 'Detect Task Switch',
  description:
    'An LLM judge compares each new user message with the last `history_window` ones (once ' +
    '`min_turns` are known); a switch to an unrelated task gets `action` (ASK by default), ' +
    'e.g. to suggest a new session. A judge error lets the message through.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      min_turns: { type: 'integer', minimum: 1, maximum: 100, default: 2 },
      history_window: { type: 'integer', minimum: 1, maximum: 20, default: 5 },
      action: { type: 'string', enum: ['ASK', 'DENY'], default: 'ASK' },
      classification_prompt: { type: 'string', minLength: 1, maxLength: 4000 },
    },
  },
  phases: ['request'],
  judged: true,
  create: (params) => {
    const minTurns = params.min_turns as number;
    const window = params.history_window as number;
    const action = params.action as 'ASK' | 'DENY';
    const custom = params.classification_prompt as string | undefined;
    return (event, judge) => {
      const text = truncate(requestText(event).trim(), MESSAGE_MAX_CHARS);
      if (!text) {
        return undefined;
      }
      const stored = event.session_state[TASK_HISTORY_KEY];
      const history = (Array.isArray(stored) ? stored : []).filter(
        (m): m is string => typeof m === 'string',
      );
      const state_updates = [
        { key: TASK_HISTORY_KEY, action: 'set' as const, value: [...history, text].slice(-window) },
      ];
      if (history.length < minTurns) {
        return { result: 'ALLOW', state_updates };
      }
      const answer = judgeAnswer(judge, (lookup) => ({
        field: 'classification',
        choices: ['continuation', 'task_switch'],
        system: envelope(
          lookup,
          custom ??
            'Answer "continuation" when the new user message continues the task of the earlier ' +
              'messages, "task_switch" when it starts an unrelated task.',
        ),
        user: [
          'Earlier user messages, oldest first:',
          ...history.slice(-window).map((m) => fence(lookup, m)),
          'New user message:',
          fence(lookup, text),
        ].join('\n'),
      }));
      if (!answer.ok || answer.choice !== 'task_switch') {
        return { result: 'ALLOW', state_updates };
      }
      return {
        result: action,
        reason: `The message starts a new task${answer.reason ? `: ${answer.reason}` : ''}`,
        state_updates,
      };
    };
  },
};

export const TASK_SWITCH_HANDLERS: PolicyHandlerDef[] = [detectTaskSwitch];
