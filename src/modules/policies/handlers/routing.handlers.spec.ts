import {
  applyStateUpdates,
  evaluatePolicies,
} from 'src/modules/policies/engine/policy-engine.util';
import { PolicyEvent } from 'src/modules/policies/engine/policy.types';
import { INTENT_KEY, INTENT_VERDICTS_KEY } from 'src/modules/policies/handlers/routing.handlers';
import { JudgeMemo, settleJudged } from 'src/modules/policies/judge/judge-memo.util';
import { toolCallEvent } from 'test/factories/policy.factory';
import { fakeJudge, judgedRegistry } from 'test/factories/policy-judge.factory';

const ROUTING = 'omnigent.policies.builtins.routing';
const registry = judgedRegistry();

const bind = (fn: string, params?: Record<string, unknown>) =>
  registry.bind({ name: fn, handler: `${ROUTING}.${fn}`, factoryParams: params }, 'session');

const run = (policy: ReturnType<typeof bind>, event: PolicyEvent, memo: JudgeMemo) =>
  settleJudged(() => evaluatePolicies([policy], event, {}, memo), memo, 1);

const requestEvent = (text: string, state: Record<string, unknown> = {}): PolicyEvent => ({
  ...toolCallEvent('', {}, state, 'request'),
  target: null,
  data: { user_content: text, attachments: [] },
});

describe('intent_based_authorization', () => {
  const policy = bind('intent_based_authorization');

  it('should store the first user message as the intent, once', async () => {
    const { asked, memo } = fakeJudge();
    const first = await run(policy, requestEvent('Fix the failing test in src/a.ts'), memo);
    expect(first.writes).toEqual([
      { key: INTENT_KEY, action: 'set', value: 'Fix the failing test in src/a.ts' },
    ]);
    const state = applyStateUpdates({}, first.writes);
    expect((await run(policy, requestEvent('and then?', state), memo)).writes).toEqual([]);
    expect(asked).toHaveLength(0);
  });

  it('should abstain on tool calls before an intent is known', async () => {
    const { asked, memo } = fakeJudge();
    expect((await run(policy, toolCallEvent('shell'), memo)).result).toBe('ALLOW');
    expect(asked).toHaveLength(0);
  });

  it('should allow consistent calls, ask on inconsistent ones, and cache the answer', async () => {
    const { asked, memo } = fakeJudge(
      { ok: true, choice: 'consistent', reason: '' },
      { ok: true, choice: 'inconsistent', reason: 'mails the source away' },
    );
    let state: Record<string, unknown> = { [INTENT_KEY]: 'Fix the failing test' };
    const read = await run(policy, toolCallEvent('read_file', { path: 'a.ts' }, state), memo);
    expect(read.result).toBe('ALLOW');
    expect(asked[0].user).toContain('Fix the failing test');
    state = applyStateUpdates(state, read.writes);
    expect(Object.values(state[INTENT_VERDICTS_KEY] as object)).toEqual(['consistent']);

    const mail = await run(policy, toolCallEvent('shell', { command: 'mail x' }, state), memo);
    expect(mail).toMatchObject({ result: 'ASK', reason: expect.stringContaining('mails the') });

    // The same call in a later evaluation: answered from session_state, no new question.
    const later = fakeJudge();
    const again = await run(
      policy,
      toolCallEvent('read_file', { path: 'a.ts' }, state),
      later.memo,
    );
    expect(again).toMatchObject({ result: 'ALLOW', writes: [] });
    expect(later.asked).toHaveLength(0);
    expect(asked).toHaveLength(2);
  });

  it('should ask a human when the judge fails', async () => {
    const { memo } = fakeJudge({ ok: false, error: 'the judge answered HTTP 500' });
    const state = { [INTENT_KEY]: 'Fix the failing test' };
    expect(await run(policy, toolCallEvent('shell', {}, state), memo)).toMatchObject({
      result: 'ASK',
      writes: [],
    });
  });
});

describe('deny_trivial_to_expensive_model', () => {
  const policy = bind('deny_trivial_to_expensive_model', { expensive_models: ['opus'] });
  const llmRequest = (model: string, message: string) =>
    ({
      ...toolCallEvent('', {}, {}, 'llm_request'),
      target: null,
      data: { model, last_user_message: message },
    }) as PolicyEvent;

  it('should deny a trivial message to an expensive model', async () => {
    const { asked, memo } = fakeJudge({ ok: true, choice: 'trivial', reason: 'greeting' });
    expect(await run(policy, llmRequest('claude-opus-4', 'hi!'), memo)).toMatchObject({
      result: 'DENY',
      reason: expect.stringContaining('claude-opus-4'),
    });
    expect(asked[0]).toMatchObject({
      field: 'classification',
      choices: ['trivial', 'non_trivial'],
    });
  });

  it('should let other models, real work and judge errors through', async () => {
    const { asked, memo } = fakeJudge(
      { ok: true, choice: 'non_trivial', reason: '' },
      { ok: false, error: 'timeout' },
    );
    expect((await run(policy, llmRequest('gpt-5-mini', 'hi'), memo)).result).toBe('ALLOW');
    expect(asked).toHaveLength(0);
    expect((await run(policy, llmRequest('opus', 'refactor the parser'), memo)).result).toBe(
      'ALLOW',
    );
    expect((await run(policy, llmRequest('opus', 'thanks'), memo)).result).toBe('ALLOW');
    expect(asked).toHaveLength(2);
  });

  it('should require expensive_models', () => {
    expect(() => registry.validateParams(`${ROUTING}.deny_trivial_to_expensive_model`, {})).toThrow(
      /expensive_models/,
    );
  });
});
