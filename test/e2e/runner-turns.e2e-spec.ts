import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expectValid, expectValidStream } from 'test/contract/upstream-schemas';
import { bundleOf } from 'test/utils/agent-bundle';
import { ECHO_TURN_EVENT_TYPES } from 'test/utils/echo-turn';
import { eventTypes, openSse, SseFrame, waitForIdle } from 'test/utils/sse-client';
import { HttpApi } from 'test/utils/http-api';
import { RunnerProcess, ServerProcess } from 'test/utils/processes';
import { ScriptedOpenAi, ScriptedResponse } from 'test/utils/scripted-openai-server';
import { ScriptedStack, startScriptedStack } from 'test/utils/scripted-stack';

/** Stream event types of one finished turn, heartbeats and deltas left out. */
function durableTypes(frames: SseFrame[]): string[] {
  return eventTypes(frames).filter((t) => t !== 'session.heartbeat' && !t.endsWith('.delta'));
}

const isTerminal = (f: SseFrame) =>
  ['response.completed', 'response.failed', 'response.incomplete'].includes(f.event ?? '');

describe('runner turns (real server and runner processes)', () => {
  let stack: ScriptedStack;
  let server: ServerProcess;
  let runner: RunnerProcess;
  let api: HttpApi;
  let openai: ScriptedOpenAi;
  const script: ScriptedResponse[] = [];
  const workspaceOf = (sessionId: string) => stack.workspaceOf(sessionId);

  beforeAll(async () => {
    stack = await startScriptedStack(script);
    ({ server, runner, api, openai } = stack);
  }, 60_000);

  afterAll(() => stack?.stop());

  async function boundSession(agent = 'echo'): Promise<string> {
    const session = await api.createSession(agent);
    await api.bind(session.id, runner.runnerId);
    return session.id;
  }

  it('should run a full turn with the upstream event sequence and persist what the stream showed', async () => {
    const sessionId = await boundSession();
    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/text\/event-stream/);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    const posted = await api.say(sessionId, 'hello there, streaming world');
    expect(posted.status).toBe(202);
    expect(posted.body).toEqual({ queued: true, item_id: expect.stringMatching(/^msg_/) });
    await waitForIdle(stream);
    stream.close();

    expect(durableTypes(stream.frames)).toEqual(ECHO_TURN_EVENT_TYPES);
    const deltas = stream.frames.filter((f) => f.event === 'response.output_text.delta');
    expect(deltas.length).toBeGreaterThanOrEqual(2);
    expect(deltas.map((f) => f.json?.delta).join('')).toBe('hello there, streaming world');
    expect(stream.frames[0].event).toBe('session.heartbeat');
    // Durable frames are numbered 1, 2, 3…; transient ones repeat the last number.
    const ids = stream.frames.map((f) => Number(f.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expectValidStream(stream);

    const consumed = stream.frames.find((f) => f.event === 'session.input.consumed')?.json as {
      data: { item_id: string };
    };
    const assistant = stream.frames.find((f) => f.event === 'response.output_item.done')?.json as {
      item: { id: string; role: string; content: { text: string }[] };
    };
    expect(consumed.data.item_id).toBe(posted.body.item_id);
    expect(assistant.item.role).toBe('assistant');
    const snapshot = await api.ok<{
      status: string;
      runner_online: boolean;
      items: { id: string; type: string }[];
    }>('GET', `/v1/sessions/${sessionId}`);
    expectValid('SessionResponse', snapshot);
    expect(snapshot.status).toBe('idle');
    expect(snapshot.runner_online).toBe(true);
    expect(snapshot.items.map((i) => i.id)).toEqual([consumed.data.item_id, assistant.item.id]);
    const health = await api.ok<{ session: { runner_online: boolean } }>(
      'GET',
      `/health?session_id=${sessionId}`,
    );
    expect(health.session.runner_online).toBe(true);
  });

  it('should run a built-in tool in the session workspace and report its output', async () => {
    const sessionId = await boundSession();
    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    await api.say(
      sessionId,
      '/tool write_file {"path":"notes/a.txt","content":"written by a tool"}',
    );
    await waitForIdle(stream);
    stream.close();

    const items = stream.frames
      .filter((f) => f.event === 'response.output_item.done')
      .map(
        (f) =>
          f.json?.item as {
            type: string;
            status: string;
            name?: string;
            output?: string;
            call_id?: string;
          },
      );
    expectValidStream(stream);
    expect(items.map((i) => i.type)).toEqual(['function_call', 'function_call_output', 'message']);
    expect(items[0]).toMatchObject({ name: 'write_file', status: 'completed' });
    expect(items[1].call_id).toBe(items[0].call_id);
    expect(items[1].output).toMatch(/Wrote 17 bytes to notes\/a.txt/);
    expect(readFileSync(join(workspaceOf(sessionId), 'notes', 'a.txt'), 'utf8')).toBe(
      'written by a tool',
    );
  });

  it('should run turns of several sessions at once on one runner', async () => {
    const sessions = await Promise.all([boundSession(), boundSession()]);
    const streams = await Promise.all(
      sessions.map((id) => openSse(server.url, `/v1/sessions/${id}/stream`)),
    );
    await Promise.all(streams.map((s) => s.waitFor((f) => f.event === 'session.heartbeat')));
    await Promise.all(sessions.map((id) => api.say(id, '/sleep 1500')));
    await Promise.all(streams.map((s) => waitForIdle(s)));
    streams.forEach((s) => s.close());
    // The turns overlap: each one was streaming before the other completed.
    const firstDelta = streams.map(
      (s) => s.frames.find((f) => f.event === 'response.output_text.delta')?.receivedAt ?? Infinity,
    );
    const completed = streams.map(
      (s) => s.frames.find((f) => f.event === 'response.completed')?.receivedAt ?? 0,
    );
    expect(firstDelta[0]).toBeLessThan(completed[1]);
    expect(firstDelta[1]).toBeLessThan(completed[0]);
  });

  it('should queue a message posted during a turn and run it after, under one running status', async () => {
    const sessionId = await boundSession();
    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    const first = await api.say(sessionId, '/sleep 800');
    await stream.waitFor((f) => f.event === 'response.output_text.delta');
    const second = await api.say(sessionId, 'second message');
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    await waitForIdle(stream);
    await stream.waitFor(
      () => stream.frames.filter((f) => f.event === 'response.completed').length === 2,
    );
    stream.close();

    const statuses = stream.frames
      .filter((f) => f.event === 'session.status')
      .map((f) => f.json?.status);
    expect(statuses).toEqual(['running', 'idle']);
    const completed = stream.frames
      .filter((f) => f.event === 'response.completed')
      .map((f) => (f.json?.response as { id: string }).id);
    expect(new Set(completed).size).toBe(2);
    const items = (
      await api.ok<{ data: { type: string; role: string; content: { text: string }[] }[] }>(
        'GET',
        `/v1/sessions/${sessionId}/items`,
      )
    ).data;
    // The transcript is chronological: the second message was stored when it was posted,
    // while the first turn was still running.
    expect(items.map((i) => `${i.role}:${i.content[0].text}`)).toEqual([
      'user:/sleep 800',
      'user:second message',
      'assistant:Slept 800 ms.',
      'assistant:second message',
    ]);
  });

  it('should interrupt a turn: session.interrupted, response.incomplete (user_interrupt), then idle', async () => {
    const sessionId = await boundSession();
    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    await api.say(sessionId, '/sleep 20000');
    await stream.waitFor((f) => f.event === 'response.output_text.delta');
    const started = Date.now();
    const res = await api.request('POST', `/v1/sessions/${sessionId}/events`, {
      type: 'interrupt',
      data: {},
    });
    expect(res).toEqual({ status: 202, body: { queued: false } });
    await waitForIdle(stream);
    expect(Date.now() - started).toBeLessThan(5_000);
    stream.close();
    expectValidStream(stream);
    const interrupted = stream.frames.find((f) => f.event === 'session.interrupted');
    expect(interrupted?.json).toMatchObject({
      data: { requested_at: expect.any(Number), response_id: expect.stringMatching(/^resp_/) },
    });
    const incomplete = stream.frames.find((f) => f.event === 'response.incomplete');
    expect(incomplete?.json).toMatchObject({
      response: { status: 'incomplete', incomplete_details: { reason: 'user_interrupt' } },
    });
    expect(stream.frames.some((f) => f.event === 'response.completed')).toBe(false);
    const snapshot = await api.ok<{ status: string; active_response_id: string | null }>(
      'GET',
      `/v1/sessions/${sessionId}`,
    );
    expect(snapshot).toMatchObject({ status: 'idle', active_response_id: null });
  });

  it('should give a tool call cut short by an interrupt a synthetic output', async () => {
    const sessionId = await boundSession();
    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    await api.say(sessionId, '/tool shell {"command":"echo started; sleep 30"}');
    await stream.waitFor((f) => f.event === 'response.function_call_output.delta');
    await api.ok('POST', `/v1/sessions/${sessionId}/events`, { type: 'interrupt', data: {} });
    await waitForIdle(stream);
    stream.close();
    expectValidStream(stream);
    const items = (
      await api.ok<{ data: { type: string; call_id?: string; output?: string }[] }>(
        'GET',
        `/v1/sessions/${sessionId}/items`,
      )
    ).data;
    expect(items.map((i) => i.type)).toEqual(['message', 'function_call', 'function_call_output']);
    expect(items[2]).toMatchObject({ call_id: items[1].call_id, output: '[cancelled]' });
  });

  it('should fail the turn, not the runner, when the harness fails', async () => {
    const sessionId = await boundSession();
    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    await api.say(sessionId, '/fail the model is on fire');
    await stream.waitFor((f) => f.event === 'session.status' && f.json?.status === 'failed');
    stream.close();
    expectValidStream(stream);
    const failed = stream.frames.find((f) => f.event === 'response.failed')?.json as {
      response: { error: { code: string; message: string } };
    };
    expect(failed.response.error).toMatchObject({
      code: 'echo_failure',
      message: 'the model is on fire',
    });
    const snapshot = await api.ok<{
      status: string;
      last_task_error: Record<string, string>;
      items: { type: string }[];
    }>('GET', `/v1/sessions/${sessionId}`);
    expect(snapshot.status).toBe('failed');
    expect(snapshot.last_task_error).toMatchObject({ code: 'echo_failure' });
    expect(snapshot.items.map((i) => i.type)).toEqual(['message', 'error']);
    // The next message recovers the session.
    const again = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await again.waitFor((f) => f.event === 'session.heartbeat');
    await api.say(sessionId, 'better now');
    await waitForIdle(again);
    again.close();
  });

  it('should stream an OpenAI-compatible model and run its tool calls (openai harness)', async () => {
    const sessionId = await boundSession('coder');
    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    const firstRequest = openai.requests.length;
    // The scripted model first asks for a tool, then answers with text.
    script.push(
      {
        toolCalls: [
          {
            id: 'call_w1',
            name: 'write_file',
            arguments: '{"path":"hello.py","content":"print(1)"}',
          },
        ],
      },
      { chunks: ['I wrote ', 'hello.py ', 'for you.'] },
    );
    await api.say(sessionId, 'please write hello.py');
    // coder asks before OS tools (ask_on_os_tools): approve the write.
    const ask = await stream.waitFor((f) => f.event === 'response.elicitation_request');
    await api.ok(
      'POST',
      `/v1/sessions/${sessionId}/elicitations/${String(ask.json?.elicitation_id)}/resolve`,
      { action: 'accept' },
    );
    await waitForIdle(stream);
    stream.close();

    expect(
      stream.frames
        .filter((f) => f.event === 'response.output_text.delta')
        .map((f) => f.json?.delta),
    ).toEqual(['I wrote ', 'hello.py ', 'for you.']);
    const items = stream.frames
      .filter((f) => f.event === 'response.output_item.done')
      .map(
        (f) =>
          f.json?.item as {
            type: string;
            name?: string;
            output?: string;
            content?: { text: string }[];
          },
      );
    expect(items.map((i) => i.type)).toEqual(['function_call', 'function_call_output', 'message']);
    expect(items[0].name).toBe('write_file');
    expect(items[2].content?.[0].text).toBe('I wrote hello.py for you.');
    expect(readFileSync(join(workspaceOf(sessionId), 'hello.py'), 'utf8')).toBe('print(1)');

    const requests = openai.requests.slice(firstRequest);
    expect(requests).toHaveLength(2);
    expect(openai.authorizations[firstRequest]).toBe('Bearer sk-test-123');
    const firstMessages = requests[0].messages as { role: string; content: string }[];
    expect(firstMessages[0].role).toBe('system');
    expect(firstMessages.at(-1)).toMatchObject({ role: 'user', content: 'please write hello.py' });
    expect((requests[0].tools as unknown[]).length).toBe(5);
    const secondMessages = requests[1].messages as { role: string; tool_call_id?: string }[];
    expect(secondMessages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_w1' });
  });

  it('should fail the turn clearly when the model provider rejects the key', async () => {
    const sessionId = await boundSession('assistant');
    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    script.push({ status: 401, body: { error: { message: 'Incorrect API key provided' } } });
    await api.say(sessionId, 'hi');
    await stream.waitFor(isTerminal);
    stream.close();
    const failed = stream.frames.find((f) => f.event === 'response.failed')?.json as {
      response: { error: { code: string; message: string } };
    };
    expect(failed.response.error.code).toBe('auth_error');
    expect(failed.response.error.message).toMatch(/Incorrect API key provided/);
    expect(failed.response.error.message).not.toContain('sk-test-123');
  });

  it('should hand client-side tool calls to the client and continue with its output', async () => {
    const name = `client-tools-${Math.random().toString(16).slice(2, 8)}`;
    const bundle = await bundleOf([
      {
        name: 'config.yaml',
        content: [
          `name: ${name}`,
          'executor: { harness: echo }',
          'tools:',
          '  - name: lookup',
          '    runtime: client',
          '    description: Looks something up on the client',
          '    parameters: { type: object, properties: { q: { type: string } } }',
          '',
        ].join('\n'),
      },
    ]);
    const form = new FormData();
    form.set('metadata', JSON.stringify({ title: 'client tools' }));
    form.set('bundle', new Blob([bundle], { type: 'application/gzip' }), 'agent.tar.gz');
    const created = await fetch(`${server.url}/v1/sessions`, {
      method: 'POST',
      body: form,
      headers: { Origin: 'omnigent://internal' },
    });
    expect(created.status).toBe(201);
    const { session_id: sessionId } = (await created.json()) as { session_id: string };
    const agent = await api.ok<{ tools: { name: string; runtime: string }[] }>(
      'GET',
      `/v1/sessions/${sessionId}/agent`,
    );
    expect(agent.tools).toEqual([
      { name: 'lookup', runtime: 'client', description: 'Looks something up on the client' },
    ]);
    await api.bind(sessionId, runner.runnerId);

    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');
    await api.say(sessionId, '/tool lookup {"q":"meaning of life"}');
    const call = await stream.waitFor(
      (f) => (f.json?.item as { type?: string })?.type === 'function_call',
    );
    const item = call.json?.item as {
      call_id: string;
      status: string;
      name: string;
      arguments: string;
    };
    expect(item).toMatchObject({
      name: 'lookup',
      status: 'action_required',
      arguments: '{"q":"meaning of life"}',
    });

    const stray = await api.request('POST', `/v1/sessions/${sessionId}/events`, {
      type: 'function_call_output',
      data: { call_id: 'call_unknown', output: 'x' },
    });
    expect(stray.status).toBe(409);
    const answered = await api.request('POST', `/v1/sessions/${sessionId}/events`, {
      type: 'function_call_output',
      data: { call_id: item.call_id, output: '42' },
    });
    expect(answered).toEqual({ status: 202, body: { queued: true, item_id: item.call_id } });
    await waitForIdle(stream);
    stream.close();
    expectValidStream(stream);
    const items = (
      await api.ok<{ data: { type: string; output?: string; content?: { text: string }[] }[] }>(
        'GET',
        `/v1/sessions/${sessionId}/items`,
      )
    ).data;
    expect(items.map((i) => i.type)).toEqual([
      'message',
      'function_call',
      'function_call_output',
      'message',
    ]);
    expect(items[2].output).toBe('42');
    expect(items[3].content?.[0].text).toBe('Tool lookup returned: 42');
  });
});
