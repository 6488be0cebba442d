import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { HttpApi } from 'test/utils/http-api';
import { PolicyJudgeDouble, startPolicyJudgeDouble } from 'test/utils/policy-judge-double';
import { RunnerProcess, ServerProcess } from 'test/utils/processes';
import { ScriptedResponse } from 'test/utils/scripted-openai-server';
import { ScriptedStack, startScriptedStack } from 'test/utils/scripted-stack';
import { openSse } from 'test/utils/sse-client';

const PROMPT = 'omnigent.policies.builtins.prompt.prompt_policy';
const KEY = 'sk-policy-judge-7f3a9c1e5b';

describe('prompt_policy with a configured judge (server and runner processes)', () => {
  let judge: PolicyJudgeDouble;
  let stack: ScriptedStack;
  let server: ServerProcess;
  let runner: RunnerProcess;
  let api: HttpApi;
  const script: ScriptedResponse[] = [];
  const bodies: string[] = [];

  beforeAll(async () => {
    judge = await startPolicyJudgeDouble();
    stack = await startScriptedStack(script, {
      OMNIGENT_LOG_LEVEL: 'debug',
      OMNIGENT_POLICY_JUDGE_MODEL: 'judge-mini',
      OMNIGENT_POLICY_JUDGE_BASE_URL: judge.url,
      OMNIGENT_POLICY_JUDGE_API_KEY: KEY,
      OMNIGENT_POLICY_JUDGE_TIMEOUT_MS: '2000',
    });
    ({ server, runner } = stack);
    const raw = stack.api;
    // Every answer body is kept: the key must never be in one.
    api = {
      ...raw,
      request: async (method, path, body) => {
        const res = await raw.request(method, path, body);
        bodies.push(JSON.stringify(res.body));
        return res as never;
      },
    };
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await judge?.close();
  });

  async function judgedSession(agent = 'echo', reason?: string): Promise<string> {
    const session = await api.createSession(agent);
    const res = await api.request('POST', `/v1/sessions/${session.id}/policies`, {
      name: 'no_deletes',
      type: 'python',
      handler: PROMPT,
      factory_params: { prompt: 'Never delete files.', ...(reason ? { reason } : {}) },
    });
    expect(res.status).toBe(200);
    return session.id;
  }

  const evaluateShell = (session: string, command: string) =>
    api.request<{ result: string; reason?: string }>(
      'POST',
      `/v1/sessions/${session}/policies/evaluate`,
      { event: { type: 'PHASE_TOOL_CALL', data: { name: 'shell', arguments: { command } } } },
    );

  it('should list prompt_policy and the other judged handlers in the registry', async () => {
    const registry = await api.ok<{ data: { handler: string; params_schema: unknown }[] }>(
      'GET',
      '/v1/policy-registry',
    );
    expect(registry.data.find((e) => e.handler === PROMPT)?.params_schema).toMatchObject({
      required: ['prompt'],
    });
    expect(registry.data.map((e) => e.handler)).toEqual(
      expect.arrayContaining([
        'omnigent.policies.builtins.routing.intent_based_authorization',
        'omnigent.policies.builtins.routing.deny_trivial_to_expensive_model',
        'omnigent.policies.builtins.context.detect_task_switch',
      ]),
    );
  });

  it('should DENY what the judge denies and ALLOW what it allows, asking it each time', async () => {
    const session = await judgedSession();
    const before = judge.requests.length;
    judge.script.push({ content: { action: 'deny', reason: 'deletes the build' } });
    expect((await evaluateShell(session, 'rm -rf build')).body).toEqual({
      result: 'POLICY_ACTION_DENY',
      reason: 'deletes the build',
    });
    judge.script.push({ content: { action: 'allow', reason: 'read only' } });
    expect((await evaluateShell(session, 'ls')).body).toEqual({ result: 'POLICY_ACTION_ALLOW' });
    expect(judge.requests.length - before).toBe(2);
    const asked = judge.requests.at(-1) as { model: string; messages: { content: string }[] };
    expect(asked.model).toBe('judge-mini');
    expect(asked.messages[0].content).toContain('Never delete files.');
    expect(asked.messages[1].content).toMatch(/<<UNTRUSTED-[0-9a-f]{24}>>\n.*"command":"ls"/s);
    expect(judge.authorizations.at(-1)).toBe(`Bearer ${KEY}`);
  });

  it('should fail closed when the judge errors or answers outside the schema', async () => {
    const session = await judgedSession();
    judge.script.push({ status: 503 });
    expect((await evaluateShell(session, 'ls')).body).toEqual({
      result: 'POLICY_ACTION_DENY',
      reason: 'prompt policy judge failed: the judge answered HTTP 503',
    });
    judge.script.push({ content: { action: 'sure', reason: '' } });
    expect((await evaluateShell(session, 'ls')).body.result).toBe('POLICY_ACTION_DENY');
  });

  it('should hold an ASK as an approval until a human answers', async () => {
    const session = await judgedSession('echo', 'A human decides deletions.');
    judge.script.push({ content: { action: 'ask', reason: 'unclear' } });
    const held = evaluateShell(session, 'rm old.log');
    let pending: { elicitation_id: string }[] = [];
    while (pending.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      pending = (
        await api.ok<{ pending_elicitations: typeof pending }>('GET', `/v1/sessions/${session}`)
      ).pending_elicitations;
    }
    const elicitation = await api.ok<{ message?: string; policy_name?: string }>(
      'GET',
      `/v1/sessions/${session}/elicitations/${pending[0].elicitation_id}`,
    );
    expect(JSON.stringify(elicitation)).toContain('A human decides deletions.');
    await api.ok(
      'POST',
      `/v1/sessions/${session}/elicitations/${pending[0].elicitation_id}/resolve`,
      {
        action: 'accept',
      },
    );
    expect((await held).body).toEqual({ result: 'POLICY_ACTION_ALLOW' });
  });

  it('should stop a real turn before the tool call the judge denies', async () => {
    const session = await judgedSession('coder');
    await api.bind(session, runner.runnerId);
    const stream = await openSse(server.url, `/v1/sessions/${session}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    judge.fallback = { content: { action: 'allow', reason: 'fine' } };
    judge.script.push(
      { content: { action: 'allow', reason: 'a plain request' } },
      { content: { action: 'deny', reason: 'writes a file the user did not ask for' } },
    );
    script.push(
      {
        toolCalls: [
          {
            id: 'call_judge_1',
            name: 'shell',
            arguments: JSON.stringify({ command: 'echo x > judged.txt' }),
          },
        ],
      },
      { text: 'Understood.' },
    );
    expect((await api.say(session, 'write it')).status).toBe(202);
    await stream.waitFor(
      (f) => f.event === 'session.status' && f.json?.status === 'idle',
      30_000,
      'idle',
    );
    expect(existsSync(join(stack.workspaceOf(session), 'judged.txt'))).toBe(false);
    const denied = stream.frames.some((f) =>
      JSON.stringify(f.json ?? {}).includes('writes a file the user did not ask for'),
    );
    expect(denied).toBe(true);
    stream.close();
  });

  it('should never echo or log the API key', () => {
    expect(bodies.length).toBeGreaterThan(5);
    expect(bodies.join('\n')).not.toContain(KEY);
    // The failure above was logged (the log is captured), without the key.
    expect(server.output()).toContain('the judge answered HTTP 503');
    expect(server.output()).not.toContain(KEY);
  });
});
