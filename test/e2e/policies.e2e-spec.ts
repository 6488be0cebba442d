import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expectValidStream } from 'test/contract/upstream-schemas';
import { eventTypes, openSse, SseConnection, waitForIdle } from 'test/utils/sse-client';
import { HttpApi } from 'test/utils/http-api';
import { RunnerProcess, ServerProcess } from 'test/utils/processes';
import { ScriptedResponse } from 'test/utils/scripted-openai-server';
import { ScriptedStack, startScriptedStack } from 'test/utils/scripted-stack';

const SAFETY = 'omnigent.policies.builtins.safety';

const idle = (stream: SseConnection, count = 1) => waitForIdle(stream, count, 30_000);

describe('policies and approvals (real server and runner processes)', () => {
  let stack: ScriptedStack;
  let server: ServerProcess;
  let runner: RunnerProcess;
  let api: HttpApi;
  const script: ScriptedResponse[] = [];
  const workspaceOf = (sessionId: string) => stack.workspaceOf(sessionId);

  beforeAll(async () => {
    stack = await startScriptedStack(script);
    ({ server, runner, api } = stack);
  }, 60_000);

  afterAll(() => stack?.stop());

  async function boundSession(agent: string): Promise<{ id: string; stream: SseConnection }> {
    const session = await api.createSession(agent);
    await api.bind(session.id, runner.runnerId);
    const stream = await openSse(server.url, `/v1/sessions/${session.id}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    return { id: session.id, stream };
  }

  /**
   * A coder session whose scripted model asks for `shell` once, then (when `answers`) answers.
   * The scripted server reads the script by position: push only what the turn will consume.
   */
  async function coderAskingForShell(command: string, answers = true) {
    const { id, stream } = await boundSession('coder');
    script.push({
      toolCalls: [
        { id: `call_${Date.now()}`, name: 'shell', arguments: JSON.stringify({ command }) },
      ],
    });
    if (answers) {
      script.push({ text: 'Done.' });
    }
    expect((await api.say(id, 'run it')).status).toBe(202);
    const request = await stream.waitFor((f) => f.event === 'response.elicitation_request');
    return { id, stream, elicitationId: request.json?.elicitation_id as string, request };
  }

  it('should list the built-in handlers under upstream ids', async () => {
    const registry = await api.ok<{ object: string; data: { handler: string; kind: string }[] }>(
      'GET',
      '/v1/policy-registry',
    );
    expect(registry.object).toBe('list');
    const handlers = registry.data.map((e) => e.handler);
    expect(handlers).toEqual(
      expect.arrayContaining([
        `${SAFETY}.ask_on_os_tools`,
        `${SAFETY}.max_tool_calls_per_session`,
        `${SAFETY}.detect_loop`,
        'omnigent.policies.builtins.orchestration.read_only_os',
      ]),
    );
    // No judge model configured: the LLM-judged handlers are absent, not faked.
    expect(
      handlers.filter((h) =>
        /prompt_policy|intent_based_authorization|deny_trivial|detect_task_switch/.test(h),
      ),
    ).toEqual([]);
  });

  it('should stop coder before shell, show the approval, and run the command once accepted', async () => {
    const { id, stream, elicitationId, request } =
      await coderAskingForShell('echo approved > out.txt');
    expect(elicitationId).toMatch(/^elicit_[0-9a-f]{32}$/);
    expect(request.json?.params).toMatchObject({
      phase: 'tool_call',
      policy_name: 'ask_before_os_tools',
      message: expect.stringContaining('echo approved > out.txt'),
    });
    const snapshot = await api.ok<{
      pending_elicitations: { elicitation_id: string }[];
      status: string;
    }>('GET', `/v1/sessions/${id}`);
    expect(snapshot.pending_elicitations.map((e) => e.elicitation_id)).toEqual([elicitationId]);
    expect(await api.ok('GET', `/v1/sessions/${id}/elicitations/${elicitationId}`)).toMatchObject({
      status: 'pending',
      phase: 'tool_call',
      policy_name: 'ask_before_os_tools',
    });
    expect(existsSync(join(workspaceOf(id), 'out.txt'))).toBe(false);
    const pendingApprovals = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('omnigent_pending_approvals '));
      return Number(line?.split(' ')[1]);
    };
    const pendingBefore = await pendingApprovals();
    expect(pendingBefore).toBeGreaterThanOrEqual(1);

    const resolved = await api.request(
      'POST',
      `/v1/sessions/${id}/elicitations/${elicitationId}/resolve`,
      {
        action: 'accept',
      },
    );
    expect(resolved).toEqual({ status: 202, body: { queued: false } });
    await idle(stream);
    stream.close();
    expect(readFileSync(join(workspaceOf(id), 'out.txt'), 'utf8')).toBe('approved\n');
    const types = eventTypes(stream.frames);
    expect(types).toContain('response.elicitation_resolved');
    expect(types).toContain('response.completed');
    expectValidStream(stream);
    const after = await api.ok<{ pending_elicitations: unknown[] }>('GET', `/v1/sessions/${id}`);
    expect(after.pending_elicitations).toEqual([]);
    expect(await api.ok('GET', `/v1/sessions/${id}/elicitations/${elicitationId}`)).toEqual({
      status: 'resolved',
    });
    expect(await pendingApprovals()).toBe(pendingBefore - 1);
  });

  it('should not run a declined command, feed the reason back and end the turn', async () => {
    // No scripted answer after the tool call: the turn ends at the decline.
    const { id, stream, elicitationId } = await coderAskingForShell(
      'echo no > declined.txt',
      false,
    );
    await api.ok('POST', `/v1/sessions/${id}/elicitations/${elicitationId}/resolve`, {
      action: 'decline',
    });
    const incomplete = await stream.waitFor((f) => f.event === 'response.incomplete', 20_000);
    expect(incomplete.json?.response).toMatchObject({
      incomplete_details: { reason: 'elicitation_declined' },
    });
    await idle(stream);
    stream.close();
    expect(existsSync(join(workspaceOf(id), 'declined.txt'))).toBe(false);
    const output = stream.frames
      .map((f) => f.json?.item as { type?: string; output?: string } | undefined)
      .find((i) => i?.type === 'function_call_output');
    expect(output?.output).toMatch(/declined/);
  });

  // Last of the tests on the scripted model: when decline wins, its scripted answer stays unused.
  it('should count only the first of two concurrent answers', async () => {
    const { id, stream, elicitationId } = await coderAskingForShell('echo once >> once.txt');
    const path = `/v1/sessions/${id}/elicitations/${elicitationId}/resolve`;
    const answers = await Promise.all([
      api.request('POST', path, { action: 'accept' }),
      api.request('POST', path, { action: 'decline' }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    const loser = answers.find((a) => a.status === 409)?.body as Record<string, unknown>;
    expect(loser).toMatchObject({ code: 'conflict', error: { code: 'conflict' } });
    await idle(stream);
    stream.close();
    expect(stream.frames.filter((f) => f.event === 'response.elicitation_resolved')).toHaveLength(
      1,
    );
    const accepted = answers[0].status === 202;
    expect(existsSync(join(workspaceOf(id), 'once.txt'))).toBe(accepted);
  });

  it('should ask once a policy is attached mid-session, and count an approval event once', async () => {
    const { id, stream } = await boundSession('echo');
    // The runner holds the session without tool_call policies: it skips tool.authorize.
    await api.say(id, '/tool list_dir {"path":"."}');
    await idle(stream, 1);
    await api.ok('POST', `/v1/sessions/${id}/policies`, {
      name: 'ask',
      type: 'python',
      handler: `${SAFETY}.ask_on_os_tools`,
    });
    await api.say(id, '/tool shell {"command":"echo approved > approved.txt"}');
    const ask = await stream.waitFor((f) => f.event === 'response.elicitation_request');
    const eid = String(ask.json?.elicitation_id);
    expect(existsSync(join(workspaceOf(id), 'approved.txt'))).toBe(false);
    const bad = await api.request('POST', `/v1/sessions/${id}/events`, {
      type: 'approval',
      data: { elicitation_id: eid, action: 'maybe' },
    });
    expect(bad.status).toBe(400);
    const answers = await Promise.all([
      api.request('POST', `/v1/sessions/${id}/events`, {
        type: 'approval',
        data: { elicitation_id: eid, action: 'accept' },
      }),
      api.request('POST', `/v1/sessions/${id}/elicitations/${eid}/resolve`, { action: 'accept' }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    await idle(stream, 2);
    stream.close();
    expect(stream.frames.filter((f) => f.event === 'response.elicitation_resolved')).toHaveLength(
      1,
    );
    expect(readFileSync(join(workspaceOf(id), 'approved.txt'), 'utf8')).toBe('approved\n');
  });

  it('should allow one tool call with max_tool_calls_per_session limit 1 and deny the next', async () => {
    const { id, stream } = await boundSession('echo');
    await api.ok('POST', `/v1/sessions/${id}/policies`, {
      name: 'one_call',
      type: 'python',
      handler: `${SAFETY}.max_tool_calls_per_session`,
      factory_params: { limit: 1 },
    });
    await api.say(id, '/tool list_dir {"path":"."}');
    await idle(stream, 1);
    await api.say(id, '/tool list_dir {"path":"."}');
    await idle(stream, 2);
    stream.close();
    const outputs = stream.frames
      .map((f) => f.json?.item as { type?: string; output?: string } | undefined)
      .filter((i) => i?.type === 'function_call_output')
      .map((i) => i?.output ?? '');
    expect(outputs).toHaveLength(2);
    expect(outputs[0]).not.toMatch(/Denied/);
    expect(outputs[1]).toMatch(/Denied by policy: one_call.*Exceeded 1 tool calls this session/);
    expect(eventTypes(stream.frames)).toContain('response.policy_denied');
  });

  it('should deny a user message at the request phase with the denial sequence', async () => {
    const { id, stream } = await boundSession('echo');
    await api.ok('POST', `/v1/sessions/${id}/policies`, {
      name: 'no_deploy',
      type: 'python',
      handler: `${SAFETY}.block_skills`,
      factory_params: { blocked: ['deploy'] },
    });
    const answer = await api.say(id, '/deploy production');
    expect(answer).toEqual({
      status: 202,
      body: { queued: false, denied: true, reason: "Skill 'deploy' is blocked by policy" },
    });
    await idle(stream);
    stream.close();
    expect(eventTypes(stream.frames).filter((t) => t !== 'session.heartbeat')).toEqual([
      'response.output_text.delta',
      'response.output_item.done',
      'response.completed',
      'session.status',
    ]);
    expectValidStream(stream);
  });

  it('should hold a user message at the request phase until it is approved', async () => {
    const { id, stream } = await boundSession('echo');
    await api.ok('POST', `/v1/sessions/${id}/policies`, {
      name: 'pii',
      type: 'python',
      handler: `${SAFETY}.deny_pii_in_llm_request`,
      factory_params: { action: 'ASK' },
    });
    const answer = await api.say(id, 'mail me at jane@example.com');
    expect(answer.status).toBe(202);
    const eid = answer.body.elicitation_id as string;
    expect(answer.body).toMatchObject({
      queued: false,
      elicitation_id: expect.stringMatching(/^elicit_/),
    });
    await stream.waitFor((f) => f.event === 'response.elicitation_request');
    await api.ok('POST', `/v1/sessions/${id}/elicitations/${eid}/resolve`, { action: 'accept' });
    await idle(stream);
    stream.close();
    const items = await api.ok<{ data: { role?: string }[] }>('GET', `/v1/sessions/${id}/items`);
    expect(items.data.map((i) => i.role)).toEqual(['user', 'assistant']);
  });

  describe('bad policy input', () => {
    let sessionId: string;
    beforeAll(async () => {
      sessionId = (await api.createSession('echo')).id;
    });
    const attach = (body: Record<string, unknown>) =>
      api.request('POST', `/v1/sessions/${sessionId}/policies`, body);
    const valid = { name: 'cap', type: 'python', handler: `${SAFETY}.max_tool_calls_per_session` };

    it.each([
      [{ ...valid, handler: 'child_process.exec' }, /not in the policy registry/],
      [
        { ...valid, handler: 'omnigent.policies.builtins.safety.__proto__' },
        /not in the policy registry/,
      ],
      [
        // No judge model on this server: the LLM-judged handlers cannot be attached.
        {
          ...valid,
          handler: 'omnigent.policies.builtins.prompt.prompt_policy',
          factory_params: { prompt: 'Deny deletions.' },
        },
        /not in the policy registry/,
      ],
      [{ ...valid, factory_params: { limit: 'ten' } }, /limit must be integer/],
      [{ ...valid, factory_params: { limitt: 1 } }, /unknown key 'limitt'/],
      [{ ...valid, type: 'url', handler: 'https://example.com/hook' }, /future extension/],
    ])('should answer 400 invalid_input to %j', async (body, message) => {
      const res = await attach(body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'invalid_input', error: { code: 'invalid_input' } });
      expect(res.body.message).toMatch(message);
    });

    it.each([
      [{ ...valid, handler: '../../etc/passwd' }],
      [{ ...valid, type: 'javascript' }],
      [{ ...valid, name: undefined }],
      [{ ...valid, type: 'url', handler: 'http://insecure.example.com' }],
    ])('should answer 422 to %j', async (body) => {
      const res = await attach(body);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'validation_error', detail: expect.any(Array) });
    });

    it('should create, conflict on a duplicate name, re-validate on PATCH and delete idempotently', async () => {
      const created = await attach({ ...valid, factory_params: { limit: 5 } });
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({
        object: 'session.policy',
        name: 'cap',
        type: 'python',
        source: 'session',
        enabled: true,
        factory_params: { limit: 5 },
        updated_at: null,
      });
      expect((await attach(valid)).status).toBe(409);
      const pid = created.body.id as string;
      const base = `/v1/sessions/${sessionId}/policies/${pid}`;
      // limit does not fit block_skills' schema: refused, not stored.
      const patch = await api.request('PATCH', base, { handler: `${SAFETY}.block_skills` });
      expect(patch.status).toBe(400);
      expect((await api.request('PATCH', base, { type: 'url' })).status).toBe(422);
      expect((await api.request('PATCH', base, { factory_params: {} })).status).toBe(422);
      const disabled = await api.ok('PATCH', base, { enabled: false });
      expect(disabled).toMatchObject({ enabled: false, updated_at: expect.any(Number) });
      const list = await api.ok<{ data: unknown[] }>('GET', `/v1/sessions/${sessionId}/policies`);
      expect(list.data).toHaveLength(1);
      expect(await api.ok('DELETE', base)).toEqual({ deleted: true });
      expect(await api.ok('DELETE', base)).toEqual({ deleted: true });
      expect((await api.request('GET', base)).status).toBe(404);
    });

    it('should manage server-wide policies (the local user is admin)', async () => {
      const created = await api.ok<{ id: string; object: string; created_by: string }>(
        'POST',
        '/v1/policies',
        { name: `noop_${Date.now()}`, type: 'python', handler: `${SAFETY}.detect_loop` },
      );
      expect(created).toMatchObject({ object: 'default_policy', created_by: 'local' });
      const list = await api.ok<{ data: { id: string }[] }>('GET', '/v1/policies');
      expect(list.data.map((p) => p.id)).toContain(created.id);
      expect(await api.ok('DELETE', `/v1/policies/${created.id}`)).toEqual({ deleted: true });
      expect((await api.request('GET', `/v1/policies/${created.id}`)).status).toBe(404);
    });
  });
});
