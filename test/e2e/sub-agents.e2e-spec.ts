import { randomBytes } from 'node:crypto';

import { expectValidStream } from 'test/contract/upstream-schemas';
import { runEchoTool, sessionItems, uploadAgentSession } from 'test/utils/agent-sessions';
import { ECHO_TURN_EVENT_TYPES } from 'test/utils/echo-turn';
import { connectFakeRunner } from 'test/utils/fake-runner';
import { eventually, HttpApi, httpApi } from 'test/utils/http-api';
import { startJwtServer } from 'test/utils/jwt-server';
import { RunnerProcess, ServerProcess, startRunner } from 'test/utils/processes';
import { openSse } from 'test/utils/sse-client';
import {
  ASKING,
  ChildSummary,
  CONFIG,
  ofType,
  railHas,
  railOf,
  Snapshot,
} from 'test/utils/sub-agent-sessions';

/**
 * Sub-agent tools (`type: agent`, issue 19): the echo agent's `/tool` directive calls a sub-agent;
 * the server creates a child session (`session.create_child`) that the same runner runs, whose
 * answer is the tool output and whose events, items and approvals are its own.
 */
describe('sub-agent tools (real server and runner processes, jwt)', () => {
  let server: ServerProcess;
  let runner: RunnerProcess;
  let aliceToken: string;
  let bobToken: string;
  let api: HttpApi;
  let bob: HttpApi;

  beforeAll(async () => {
    const jwt = await startJwtServer(randomBytes(32).toString('hex'));
    server = jwt.server;
    aliceToken = jwt.newUserToken('alice');
    bobToken = jwt.newUserToken('bob');
    api = httpApi(server.url, aliceToken);
    bob = httpApi(server.url, bobToken);
    runner = await startRunner(server.url, ['--token', aliceToken]);
  }, 60_000);

  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
  });

  async function session(extra: string[] = []): Promise<{ id: string; name: string }> {
    const name = `parent-${randomBytes(4).toString('hex')}`;
    const id = await uploadAgentSession(server.url, CONFIG(name, extra), aliceToken);
    await api.bind(id, runner.runnerId);
    return { id, name };
  }

  const stream = (sessionId: string, headers: Record<string, string> = {}) =>
    openSse(server.url, `/v1/sessions/${sessionId}/stream`, {
      Authorization: `Bearer ${aliceToken}`,
      ...headers,
    });

  const children = async (sessionId: string) =>
    (await api.ok<{ data: ChildSummary[] }>('GET', `/v1/sessions/${sessionId}/child_sessions`))
      .data;

  const itemSummary = async (sessionId: string) =>
    (await sessionItems(api, sessionId)).map((i) => [
      i.type,
      (i as { role?: string }).role ?? i.name ?? null,
      i.content?.[0].text ?? i.output ?? null,
    ]);

  it('should run the sub-agent as a child session of its own and return its answer', async () => {
    const parent = await session();
    const parentStream = await stream(parent.id);
    await parentStream.waitFor((f) => f.event === 'session.heartbeat');

    const output = await runEchoTool(api, parent.id, 'helper', { input: 'summarise the plan' });
    expect(output).toBe('summarise the plan');
    const created = await parentStream.waitFor(ofType('session.created'));
    const deltas = parentStream.frames.filter(ofType('response.function_call_output.delta'));
    parentStream.close();
    expectValidStream(parentStream);
    expect(deltas.map((f) => f.json?.delta).join('')).toBe('summarise the plan');
    expect(await itemSummary(parent.id)).toEqual([
      ['message', 'user', '/tool helper {"input":"summarise the plan"}'],
      ['function_call', 'helper', null],
      ['function_call_output', null, 'summarise the plan'],
      ['message', 'assistant', 'Tool helper returned: summarise the plan'],
    ]);

    // The child: listed under the parent, a sub-agent session of the parent's tree.
    const [child, ...others] = await children(parent.id);
    expect(others).toEqual([]);
    expect(child).toMatchObject({
      object: 'child_session',
      parent_session_id: parent.id,
      title: 'helper:summarise the plan',
      tool: 'helper',
      session_name: 'summarise the plan',
      kind: 'sub_agent',
      busy: false,
      agent_name: `${parent.name}.helper`,
      last_message_preview: 'summarise the plan',
    });
    expect(created.json).toMatchObject({
      conversation_id: parent.id,
      parent_session_id: parent.id,
      child_session_id: child.id,
    });
    const snapshot = await api.ok<Snapshot>('GET', `/v1/sessions/${child.id}`);
    expect(snapshot).toMatchObject({
      status: 'idle',
      kind: 'sub_agent',
      parent_session_id: parent.id,
      root_conversation_id: parent.id,
      runner_id: runner.runnerId,
    });
    const agent = await api.ok<{ name: string; harness: string; instructions?: string }>(
      'GET',
      `/v1/sessions/${child.id}/agent`,
    );
    expect(agent).toMatchObject({ name: `${parent.name}.helper`, harness: 'echo' });
    expect(await itemSummary(child.id)).toEqual([
      ['message', 'user', 'summarise the plan'],
      ['message', 'assistant', 'summarise the plan'],
    ]);

    // Its stream holds its own turn (replayed from the log).
    const childStream = await stream(child.id, { 'Last-Event-ID': '0' });
    await childStream.waitFor((f) => f.json?.type === 'session.status' && f.json.status === 'idle');
    childStream.close();
    expectValidStream(childStream);
    const types = childStream.frames
      .map((f) => f.json?.type)
      .filter((type) => type && type !== 'session.heartbeat');
    expect(types).toEqual(ECHO_TURN_EVENT_TYPES);
    for (const frame of childStream.frames.filter((f) => f.id)) {
      expect(frame.json?.conversation_id ?? child.id).toBe(child.id);
    }
  });

  it("should keep the parent's child-session rail live, and send it whole on reconnect", async () => {
    const parent = await session();
    const parentStream = await stream(parent.id);
    await parentStream.waitFor((f) => f.event === 'session.heartbeat');

    expect(await runEchoTool(api, parent.id, 'helper', { input: 'one' })).toBe('one');
    const created = await parentStream.waitFor(ofType('session.created'));
    const childId = created.json?.child_session_id as string;
    const finishedAfterStart = () => {
      const updates = railOf(parentStream.frames, childId);
      return updates.slice(updates.findIndex((c) => c.busy === true) + 1).some((c) => !c.busy);
    };
    await parentStream.waitFor(finishedAfterStart, 15_000, 'the child busy, then idle');
    const rail = railOf(parentStream.frames, childId);
    // Created: the full summary, idle, before its first turn's deltas.
    expect(rail[0]).toMatchObject({
      id: childId,
      object: 'child_session',
      title: 'helper:one',
      busy: false,
      pending_elicitations_count: 0,
    });
    const started = rail.findIndex((c) => c.busy === true);
    expect(started).toBeGreaterThan(0);
    expect(rail[started]).toMatchObject({ current_task_status: 'running' });
    // Live deltas are partial: no id or title, only what changed.
    expect(rail[started].title).toBeUndefined();
    expect(rail.map((c) => c.last_message_preview).filter(Boolean)).toContain('one');
    parentStream.close();
    expectValidStream(parentStream);

    // On connect, each child's full summary, as GET …/child_sessions reads it.
    expect(await runEchoTool(api, parent.id, 'recaller', { input: 'two' })).toBe('two');
    const listed = await eventually(async () => {
      const both = await children(parent.id);
      if (both.length !== 2 || both.some((c) => c.busy)) {
        throw new Error('the children are not both idle yet');
      }
      return both;
    });
    const again = await stream(parent.id);
    const summaries = () => railOf(again.frames).filter((c) => c.object === 'child_session');
    await again.waitFor(() => summaries().length === 2, 15_000, 'two child summaries');
    again.close();
    expectValidStream(again);
    // Oldest first, the list newest first.
    expect(summaries()).toEqual([...listed].reverse());
  });

  it("should give the child the parent's messages with pass_history", async () => {
    const parent = await session();
    expect(await runEchoTool(api, parent.id, 'helper', { input: 'first' })).toBe('first');

    await runEchoTool(api, parent.id, 'recaller', { input: 'what came before?' });
    const recaller = (await children(parent.id)).find((c) => c.tool === 'recaller');
    const items = await itemSummary(recaller?.id as string);
    // The parent's messages so far (not its tool calls), then its own task and answer.
    expect(items).toEqual([
      ['message', 'user', '/tool helper {"input":"first"}'],
      ['message', 'assistant', 'Tool helper returned: first'],
      ['message', 'user', '/tool recaller {"input":"what came before?"}'],
      ['message', 'user', 'what came before?'],
      ['message', 'assistant', 'what came before?'],
    ]);
  });

  it('should honour max_sessions per parent session with a clear tool error', async () => {
    const parent = await session();

    expect(await runEchoTool(api, parent.id, 'helper', { input: 'one' })).toBe('one');
    expect(await runEchoTool(api, parent.id, 'helper', { input: 'two' })).toBe('two');
    expect(await runEchoTool(api, parent.id, 'helper', { input: 'three' })).toBe(
      'Error: the sub-agent helper was not started: max_sessions_reached: ' +
        'The sub-agent helper may create at most 2 session(s) per parent session',
    );
    expect((await children(parent.id)).map((c) => c.session_name).sort()).toEqual(['one', 'two']);
    // Another sub-agent tool has its own count.
    expect(await runEchoTool(api, parent.id, 'recaller', { input: 'four' })).toBe('four');
  });

  /**
   * Posts a sub-agent call whose child asks (the parent's policy) before a write_file; resolves
   * once the approval is pending on the child, with both streams open.
   */
  async function askingChild(task: string) {
    const parent = await session(ASKING);
    const parentStream = await stream(parent.id);
    await parentStream.waitFor((f) => f.event === 'session.heartbeat');
    const posted = await api.say(parent.id, `/tool lister ${JSON.stringify({ input: task })}`);
    expect(posted.status).toBe(202);
    const created = await parentStream.waitFor(ofType('session.created'));
    const childId = created.json?.child_session_id as string;
    const childStream = await stream(childId, { 'Last-Event-ID': '0' });
    const request = await childStream.waitFor(ofType('response.elicitation_request'));
    const resolve = (action: string) =>
      api.ok(
        'POST',
        `/v1/sessions/${childId}/elicitations/${request.json?.elicitation_id as string}/resolve`,
        { action },
      );
    const finished = async () => {
      await childStream.waitFor(
        (f) => f.json?.type === 'session.status' && f.json.status === 'idle',
      );
      childStream.close();
      expectValidStream(childStream);
      const output = await eventually(async () => {
        const done = (await sessionItems(api, parent.id)).find(
          (i) => i.type === 'function_call_output',
        );
        if (!done) {
          throw new Error('the parent has no tool output yet');
        }
        return done.output;
      });
      parentStream.close();
      // The approval was the child's alone.
      expect(parentStream.frames.some(ofType('response.elicitation_request'))).toBe(false);
      return output;
    };
    return { parent, parentStream, childId, request, childStream, resolve, finished };
  }

  it('should ask on the child session for its tool calls, and continue the child once approved', async () => {
    const task = '/tool write_file {"path": "approved.txt", "content": "ok"}';
    const { parent, parentStream, childId, request, childStream, resolve, finished } =
      await askingChild(task);
    const pending = await api.ok<Snapshot>('GET', `/v1/sessions/${childId}`);
    expect(pending.status).toBe('running');
    expect(pending.pending_elicitations.map((e) => e.elicitation_id)).toEqual([
      request.json?.elicitation_id,
    ]);
    const parentView = await api.ok<Snapshot>('GET', `/v1/sessions/${parent.id}`);
    expect(parentView.pending_elicitations).toEqual([]);
    // The parent's rail counts the child's waiting approval, listed and live.
    expect(await children(parent.id)).toMatchObject([
      { id: childId, busy: true, pending_elicitations_count: 1 },
    ]);
    await parentStream.waitFor(railHas(childId, { pending_elicitations_count: 1 }));

    await resolve('accept');
    expect(await finished()).toMatch(/^Tool write_file returned: /);
    expect(childStream.frames.some(ofType('response.elicitation_resolved'))).toBe(true);
    expect((await children(parent.id))[0].pending_elicitations_count).toBe(0);
    // Live, too: the child's text streams on the child's stream.
    const text = childStream.frames.filter(ofType('response.output_text.delta'));
    expect(text.map((f) => f.json?.delta).join('')).toMatch(/^Tool write_file returned: /);
    expect(await itemSummary(childId)).toEqual([
      ['message', 'user', task],
      ['function_call', 'write_file', null],
      ['function_call_output', null, expect.stringMatching(/approved\.txt/)],
      ['message', 'assistant', expect.stringMatching(/^Tool write_file returned: /)],
    ]);
  });

  it('should end the child when its approval is declined, and say so to the parent', async () => {
    const task = '/tool write_file {"path": "declined.txt", "content": "no"}';
    const { childId, resolve, finished } = await askingChild(task);

    await resolve('decline');
    expect(await finished()).toBe(
      'Error: the sub-agent lister stopped before finishing (elicitation_declined)',
    );
    expect(await itemSummary(childId)).toEqual([
      ['message', 'user', task],
      ['function_call', 'write_file', null],
      ['function_call_output', null, expect.stringMatching(/^\[Denied by user/)],
    ]);
  });

  it('should interrupt the child with its parent, its approval withdrawn', async () => {
    const task = '/tool write_file {"path": "interrupted.txt", "content": "no"}';
    const { parent, childId, childStream } = await askingChild(task);

    const interrupted = await api.request('POST', `/v1/sessions/${parent.id}/events`, {
      type: 'interrupt',
    });
    expect(interrupted.status).toBe(202);
    await childStream.waitFor((f) => f.json?.type === 'session.status' && f.json.status === 'idle');
    childStream.close();
    expectValidStream(childStream);
    const ended = childStream.frames.find(ofType('response.incomplete'));
    expect(ended?.json?.response).toMatchObject({
      incomplete_details: { reason: 'user_interrupt' },
    });
    expect(childStream.frames.some(ofType('response.elicitation_resolved'))).toBe(true);
    const child = await api.ok<Snapshot>('GET', `/v1/sessions/${childId}`);
    expect(child).toMatchObject({ status: 'idle', pending_elicitations: [] });
    expect((await children(parent.id)).map((c) => c.busy)).toEqual([false]);
  });

  it("should keep the child from another user (404) and refuse children of sessions a runner doesn't serve", async () => {
    const parent = await session();
    await runEchoTool(api, parent.id, 'helper', { input: 'private' });
    const [child] = await children(parent.id);

    for (const path of [
      `/v1/sessions/${child.id}`,
      `/v1/sessions/${child.id}/items`,
      `/v1/sessions/${child.id}/stream`,
      `/v1/sessions/${parent.id}/child_sessions`,
    ]) {
      const res = await bob.request('GET', path);
      expect([path, res.status]).toEqual([path, 404]);
    }

    // Bob's runner, and another runner of Alice's, may not create children of this session.
    for (const token of [bobToken, aliceToken]) {
      const other = await connectFakeRunner(server.url, { token });
      try {
        await expect(
          other.request('session.create_child', {
            parent_session_id: parent.id,
            turn_id: 'resp_x',
            call_id: 'call_x',
            tool: 'helper',
            input: 'sneaky',
          }),
        ).rejects.toMatchObject({ data: { code: 'session_unknown' } });
      } finally {
        await other.close();
      }
    }
    expect((await children(parent.id)).map((c) => c.session_name)).toEqual(['private']);
  });

  it("should let a sub-agent use its own os_env tools in the parent's workspace", async () => {
    const parent = await session();

    // The child's echo harness runs the directive it is given as its task.
    const output = await runEchoTool(api, parent.id, 'lister', {
      input: '/tool write_file {"path": "from-child.txt", "content": "hi"}',
    });
    expect(output).toMatch(/^Tool write_file returned: /);
    const listed = await runEchoTool(api, parent.id, 'lister', { input: '/tool list_dir {}' });
    expect(listed).toContain('from-child.txt');
  });

  it('should answer a clear error for a sub-agent on a harness this runner lacks', async () => {
    const parent = await session();
    const parentStream = await stream(parent.id);
    await parentStream.waitFor((f) => f.event === 'session.heartbeat');

    expect(await runEchoTool(api, parent.id, 'remote_only', { input: 'x' })).toMatch(
      /^Error: the sub-agent remote_only failed: harness_not_configured: .*claude-sdk/,
    );
    // The child session exists and shows its failure, on the parent's rail too.
    const [child] = await children(parent.id);
    const snapshot = await api.ok<Snapshot>('GET', `/v1/sessions/${child.id}`);
    expect(snapshot.status).toBe('failed');
    expect(child.last_task_error).toMatchObject({ code: 'harness_not_configured' });
    const failed = await parentStream.waitFor((f) =>
      railOf([f], child.id).some((c) => Boolean(c.last_task_error)),
    );
    parentStream.close();
    expectValidStream(parentStream);
    expect(failed.json?.child).toMatchObject({
      busy: false,
      last_task_error: { code: 'harness_not_configured' },
    });
  });

  it('should answer tool_unavailable for a Python callable, naming it', async () => {
    const parent = await session();

    expect(await runEchoTool(api, parent.id, 'weather', { city: 'Oslo' })).toBe(
      "Error: tool_unavailable: the tool 'weather' cannot run here: the Python callable " +
        "tools.weather:get_weather cannot run on this server's runners",
    );
  });
});
