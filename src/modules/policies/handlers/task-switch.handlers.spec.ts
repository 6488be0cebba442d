import {
  applyStateUpdates,
  evaluatePolicies,
} from 'src/modules/policies/engine/policy-engine.util';
import { PolicyEvent } from 'src/modules/policies/engine/policy.types';
import { TASK_HISTORY_KEY } from 'src/modules/policies/handlers/task-switch.handlers';
import { JudgeMemo, settleJudged } from 'src/modules/policies/judge/judge-memo.util';
import { toolCallEvent } from 'test/factories/policy.factory';
import { fakeJudge, judgedRegistry } from 'test/factories/policy-judge.factory';

const HANDLER = 'omnigent.policies.builtins.context.detect_task_switch';
const registry = judgedRegistry();

const bind = (params?: Record<string, unknown>) =>
  registry.bind({ name: 'switch', handler: HANDLER, factoryParams: params }, 'session');

const say = (text: string, state: Record<string, unknown>): PolicyEvent => ({
  ...toolCallEvent('', {}, state, 'request'),
  target: null,
  data: { user_content: text, attachments: [] },
});

/** Sends `texts` in order, carrying the state; the verdicts. */
async function conversation(policy: ReturnType<typeof bind>, memo: JudgeMemo, texts: string[]) {
  let state: Record<string, unknown> = {};
  const verdicts = [];
  for (const text of texts) {
    const result = await settleJudged(
      () => evaluatePolicies([policy], say(text, state), {}, memo),
      memo,
      1,
    );
    verdicts.push(result);
    state = applyStateUpdates(state, result.writes);
  }
  return { verdicts, state };
}

describe('detect_task_switch', () => {
  it('should wait for min_turns, then act on a switch the judge sees', async () => {
    const { asked, memo } = fakeJudge(
      { ok: true, choice: 'continuation', reason: '' },
      { ok: true, choice: 'task_switch', reason: 'a recipe now' },
    );
    const { verdicts } = await conversation(bind({ action: 'DENY' }), memo, [
      'fix the parser',
      'it fails on tabs',
      'and on CRLF',
      'how do I bake bread?',
    ]);
    expect(verdicts.map((v) => v.result)).toEqual(['ALLOW', 'ALLOW', 'ALLOW', 'DENY']);
    expect(verdicts[3].reason).toBe('The message starts a new task: a recipe now');
    expect(asked).toHaveLength(2);
    expect(asked[1]).toMatchObject({ field: 'classification' });
    expect(asked[1].user).toContain('it fails on tabs');
    expect(asked[1].user).toContain(`<<UNTRUSTED-${memo.nonce}>>\nhow do I bake bread?`);
  });

  it('should keep only history_window messages and abstain when the judge fails', async () => {
    const { verdicts, state } = await conversation(
      bind({ min_turns: 1, history_window: 2 }),
      fakeJudge().memo,
      ['a', 'b', 'c'],
    );
    expect(verdicts.map((v) => v.result)).toEqual(['ALLOW', 'ALLOW', 'ALLOW']);
    expect(state[TASK_HISTORY_KEY]).toEqual(['b', 'c']);
  });

  it('should ASK by default', async () => {
    const { memo } = fakeJudge({ ok: true, choice: 'task_switch', reason: '' });
    const { verdicts } = await conversation(bind({ min_turns: 1 }), memo, ['a', 'b']);
    expect(verdicts[1].result).toBe('ASK');
  });
});
