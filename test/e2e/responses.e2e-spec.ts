import { randomBytes } from 'node:crypto';

import { expectStreamEvent, expectValid } from 'test/contract/upstream-schemas';
import { eventually, HttpApi, httpApi } from 'test/utils/http-api';
import { startJwtServer } from 'test/utils/jwt-server';
import { RunnerProcess, ServerProcess, startRunner } from 'test/utils/processes';

const SECRET = 'responses-e2e-secret-0123456789abcdef';

type Json = Record<string, unknown>;
type ResponseObject = Json & {
  id: string;
  status: string;
  output: Json[];
  conversation: { id: string };
  usage: { input_tokens: number; total_tokens: number } | null;
};

/** One event as upstream's legacy parser (`_sse.parse_sse_stream`) sees it. */
interface LegacyEvent {
  event: string;
  data: Json;
}

/**
 * The upstream Python client's legacy responses parser (sdk-contract.md): split the raw body on
 * `\n`, dispatch on the `event:` name, read the `data:` JSON, stop at a bare `data: [DONE]`.
 */
function parseLegacySse(body: string): { events: LegacyEvent[]; done: boolean } {
  const events: LegacyEvent[] = [];
  let event: string | null = null;
  for (const line of body.split('\n')) {
    if (line.startsWith('event: ')) {
      event = line.slice('event: '.length);
    } else if (line.startsWith('data: ')) {
      const data = line.slice('data: '.length);
      if (data === '[DONE]') {
        return { events, done: true };
      }
      if (event) {
        events.push({ event, data: JSON.parse(data) as Json });
      }
    } else if (line === '') {
      event = null;
    }
  }
  return { events, done: false };
}

/** What `client.query()` makes of a streamed response: the text, and the conversation id. */
function queryResult(events: LegacyEvent[]): { text: string; conversationId?: string } {
  const created = events.find((e) => e.event === 'response.created');
  return {
    text: events
      .filter((e) => e.event === 'response.output_text.delta')
      .map((e) => e.data.delta as string)
      .join(''),
    conversationId: (created?.data.response as ResponseObject | undefined)?.conversation?.id,
  };
}

const outputText = (response: ResponseObject): string =>
  response.output
    .filter((item) => item.type === 'message' && item.role === 'assistant')
    .flatMap((item) => item.content as { text: string }[])
    .map((part) => part.text)
    .join('');

describe('/v1/responses (real server and runner processes, jwt)', () => {
  let server: ServerProcess;
  let runner: RunnerProcess;
  let alice: HttpApi;
  let bob: HttpApi;
  let aliceToken: string;

  /** `POST /v1/responses` with `stream: true`, read to its end (the stream ends after [DONE]). */
  async function stream(body: Json, token = aliceToken) {
    const res = await fetch(new URL('/v1/responses', server.url), {
      method: 'POST',
      headers: {
        Origin: 'omnigent://internal',
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        Accept: 'text/event-stream',
      },
      body: JSON.stringify({ stream: true, ...body }),
    });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get('content-type'), text };
  }

  const create = (body: Json, api = alice) =>
    api.request<ResponseObject>('POST', '/v1/responses', body);
  const get = (id: string, api = alice) =>
    api.request<ResponseObject>('GET', `/v1/responses/${id}`);
  const completedResponse = async (input: string, extra: Json = {}) => {
    const res = await create({ model: 'echo', input, stream: false, ...extra });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('completed');
    return res.body;
  };

  beforeAll(async () => {
    const jwt = await startJwtServer(SECRET);
    server = jwt.server;
    aliceToken = jwt.newUserToken('alice');
    alice = httpApi(server.url, aliceToken);
    bob = httpApi(server.url, jwt.newUserToken('bob'));
    runner = await startRunner(server.url, ['--token', aliceToken]);
  }, 60_000);

  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
  });

  it("should answer the upstream client's blocking create with the final response object", async () => {
    // The body `ResponsesNamespace.create` sends (sdk-contract.md), optional keys as null.
    const res = await create({
      model: 'echo',
      input: 'hello responses',
      stream: false,
      background: false,
      instructions: 'Be brief.',
      previous_response_id: null,
      tools: null,
      reasoning: null,
      model_override: null,
      metadata: { ticket: 'T-1' },
    });
    expect(res.status).toBe(200);
    const response = res.body;
    expectValid('ResponseObject', response);
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'echo',
      previous_response_id: null,
      instructions: 'Be brief.',
      metadata: { ticket: 'T-1' },
      error: null,
      background: false,
    });
    expect(response.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(response.conversation.id).toMatch(/^conv_[0-9a-f]{32}$/);
    expect(outputText(response)).toBe('hello responses');
    expect(response.usage?.total_tokens).toBeGreaterThan(0);
    expect(typeof response.completed_at).toBe('number');

    const again = await get(response.id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(response);
    // The chain is an ordinary session of the caller, holding the turn.
    const items = await alice.ok<{ data: Json[] }>(
      'GET',
      `/v1/sessions/${response.conversation.id}/items`,
    );
    expect(items.data.map((i) => i.response_id)).toEqual([response.id, response.id]);
  });

  it("should stream a response the way the upstream client's legacy parser reads it", async () => {
    const res = await stream({
      model: 'echo',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'streamed words here' }] }],
      previous_response_id: null,
      reasoning: null,
      model_override: null,
      tools: null,
    });
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/event-stream/);
    const { events, done } = parseLegacySse(res.text);
    expect(done).toBe(true);
    for (const { event, data } of events) {
      expect(event).toBe(data.type);
      expectStreamEvent(data);
      expect(event === 'session.heartbeat' || event.startsWith('response.')).toBe(true);
    }
    const types = events.map((e) => e.event).filter((t) => t !== 'session.heartbeat');
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types).toContain('response.output_text.delta');
    expect(types).toContain('response.output_item.done');
    const result = queryResult(events);
    expect(result.text).toBe('streamed words here');
    expect(result.conversationId).toMatch(/^conv_/);
    // The streamed response is the one GET answers.
    const completed = events.at(-1)?.data.response as ResponseObject;
    const fetched = (await get(completed.id)).body;
    expect(fetched.status).toBe('completed');
    expect(fetched.conversation.id).toBe(result.conversationId);
    expect(outputText(fetched)).toBe('streamed words here');
  });

  it('should keep the context across a chain of two responses', async () => {
    const first = await completedResponse('the first message of the chain is rather long');
    const res = await stream({ model: 'echo', input: 'second', previous_response_id: first.id });
    const { events } = parseLegacySse(res.text);
    const second = events.at(-1)?.data.response as ResponseObject;
    expect(events.at(-1)?.event).toBe('response.completed');
    expect(queryResult(events)).toEqual({ text: 'second', conversationId: first.conversation.id });
    expect((await get(second.id)).body.previous_response_id).toBe(first.id);

    // The runner saw the first turn: the chained turn's prompt is larger than the same text alone.
    const alone = await completedResponse('second');
    expect(second.usage?.input_tokens).toBeGreaterThan(alone.usage?.input_tokens ?? Infinity);
    const items = await alice.ok<{ data: Json[] }>(
      'GET',
      `/v1/sessions/${first.conversation.id}/items`,
    );
    expect(items.data.map((i) => i.response_id)).toEqual([
      first.id,
      first.id,
      second.id,
      second.id,
    ]);
  });

  it('should fork the chain when continuing from a response that is not its latest', async () => {
    const first = await completedResponse('root of the chain');
    const second = await completedResponse('second on the main line', {
      previous_response_id: first.id,
    });
    const forked = await completedResponse('a different second', {
      previous_response_id: first.id,
    });
    expect(forked.previous_response_id).toBe(first.id);
    expect(forked.conversation.id).not.toBe(first.conversation.id);
    expect(outputText(forked)).toBe('a different second');

    const texts = async (conversationId: string) =>
      (await alice.ok<{ data: Json[] }>('GET', `/v1/sessions/${conversationId}/items`)).data
        .filter((i) => i.role === 'user')
        .map((i) => (i.content as { text: string }[])[0].text);
    expect(await texts(forked.conversation.id)).toEqual([
      'root of the chain',
      'a different second',
    ]);
    expect(await texts(first.conversation.id)).toEqual([
      'root of the chain',
      'second on the main line',
    ]);
    // The main line goes on from its latest response without a fork.
    const third = await completedResponse('third', { previous_response_id: second.id });
    expect(third.conversation.id).toBe(first.conversation.id);
  });

  it('should return a background response at once and finish it for polling or a later stream', async () => {
    const res = await create({ model: 'echo', input: '/sleep 1500', background: true });
    expect(res.status).toBe(200);
    expectValid('ResponseObject', res.body);
    expect(['queued', 'in_progress']).toContain(res.body.status);
    expect(res.body.background).toBe(true);
    const id = res.body.id;

    // Streamed later: the live events of the running response, up to its end.
    const live = await fetch(new URL(`/v1/responses/${id}?stream=true`, server.url), {
      headers: { Authorization: `Bearer ${aliceToken}` },
    });
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { events, done } = parseLegacySse(await live.text());
    expect(done).toBe(true);
    events.forEach(({ data }) => expectStreamEvent(data));
    expect(events.at(-1)?.event).toBe('response.completed');

    const polled = await eventually(async () => {
      const current = (await get(id)).body;
      expect(current.status).toBe('completed');
      return current;
    });
    expectValid('ResponseObject', polled);
    expect(polled.output.length).toBeGreaterThan(0);

    // Once ended, a stream is its terminal event and [DONE].
    const after = await fetch(new URL(`/v1/responses/${id}?stream=true`, server.url), {
      headers: { Authorization: `Bearer ${aliceToken}` },
    });
    const ended = parseLegacySse(await after.text());
    expect(ended.done).toBe(true);
    expect(ended.events.map((e) => e.event)).toEqual(['response.completed']);
  });

  it('should cancel a running response', async () => {
    const started = (await create({ model: 'echo', input: '/sleep 20000', background: true })).body;
    await eventually(async () => expect((await get(started.id)).body.status).toBe('in_progress'));
    const cancelled = await alice.request<ResponseObject>(
      'POST',
      `/v1/responses/${started.id}/cancel`,
    );
    expect(cancelled.status).toBe(200);
    expectValid('ResponseObject', cancelled.body);
    expect(cancelled.body).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'user_interrupt' },
    });
    // Cancelling an ended response answers it as it is.
    const again = await alice.request<ResponseObject>('POST', `/v1/responses/${started.id}/cancel`);
    expect(again.body.status).toBe('incomplete');
    // The chain is usable again at once.
    const next = await completedResponse('after the cancel', { previous_response_id: started.id });
    expect(next.conversation.id).toBe(started.conversation.id);
  });

  it('should delete a response, and the chain with its last response', async () => {
    const first = await completedResponse('to be deleted');
    const second = await completedResponse('kept for a while', { previous_response_id: first.id });
    const deleted = await alice.request('DELETE', `/v1/responses/${first.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: first.id, object: 'response', deleted: true });
    expect((await get(first.id)).status).toBe(404);
    expect((await alice.request('GET', `/v1/sessions/${first.conversation.id}`)).status).toBe(200);
    await alice.ok('DELETE', `/v1/responses/${second.id}`);
    expect((await get(second.id)).status).toBe(404);
    expect((await alice.request('GET', `/v1/sessions/${first.conversation.id}`)).status).toBe(404);
  });

  it('should run client-side tools: results by PATCH mid-stream, or as input items', async () => {
    const tools = [{ type: 'function', name: 'lookup', parameters: { type: 'object' } }];
    const pendingCall = (events: LegacyEvent[]) =>
      events
        .map((e) => e.data.item as Json | undefined)
        .find((item) => item?.type === 'function_call' && item.status === 'action_required');

    // Streaming, as the Python client's stream(): PATCH the result when the call shows up.
    const res = await fetch(new URL('/v1/responses', server.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${aliceToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'echo', input: '/tool lookup {"q": 1}', tools, stream: true }),
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let body = '';
    let patched = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      body += decoder.decode(value, { stream: true });
      const { events } = parseLegacySse(body);
      const call = pendingCall(events);
      if (call && !patched) {
        patched = true;
        const created = events.find((e) => e.event === 'response.created');
        const id = (created?.data.response as ResponseObject).id;
        const ack = await alice.request<ResponseObject>('PATCH', `/v1/responses/${id}`, {
          tool_results: [{ call_id: call.call_id, output: 'sunny' }],
        });
        expect(ack.status).toBe(200);
        expect(ack.body.id).toBe(id);
      }
    }
    const streamed = parseLegacySse(body);
    expect(patched).toBe(true);
    expect(streamed.done).toBe(true);
    expect(streamed.events.at(-1)?.event).toBe('response.completed');
    expect(queryResult(streamed.events).text).toContain('Tool lookup returned: sunny');

    // Background + poll, the result sent back as a function_call_output input item.
    const started = (
      await create({ model: 'echo', input: '/tool lookup {}', tools, background: true })
    ).body;
    const call = await eventually(async () => {
      const found = (await get(started.id)).body.output.find(
        (item) => item.type === 'function_call' && item.status === 'action_required',
      );
      expect(found).toBeDefined();
      return found as Json;
    });
    const resumed = await create({
      model: 'echo',
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'rainy' }],
      previous_response_id: started.id,
    });
    expect(resumed.status).toBe(200);
    expect(resumed.body.id).toBe(started.id);
    expect(resumed.body.status).toBe('completed');
    expect(outputText(resumed.body)).toContain('Tool lookup returned: rainy');
    const ended = await alice.request('PATCH', `/v1/responses/${started.id}`, {
      tool_results: [{ call_id: call.call_id, output: 'late' }],
    });
    expect(ended.status).toBe(409);
  });

  it('should answer errors with the documented status and code', async () => {
    const expectError = (res: { status: number; body: Json }, status: number, code: string) => {
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ code, error: { code } });
    };
    expectError(await create({ model: 'no-such-agent', input: 'hi' }), 404, 'not_found');
    expectError(
      await create({ model: 'ag_00000000000000000000000000000000', input: 'hi' }),
      404,
      'not_found',
    );
    expectError(await create({ model: 'echo', input: 5 }), 422, 'validation_error');
    expectError(await create({ model: 'echo', input: '' }), 422, 'validation_error');
    expectError(await create({ input: 'hi' }), 422, 'validation_error');
    expectError(
      await create({ model: 'echo', input: 'hi', stream: 'yes' }),
      422,
      'validation_error',
    );
    expectError(
      await create({ model: 'echo', input: [{ role: 'assistant', content: 'hi' }] }),
      422,
      'validation_error',
    );
    expectError(
      await create({
        model: 'echo',
        input: [{ type: 'function_call_output', call_id: 'call_1', output: 'x' }],
      }),
      422,
      'validation_error',
    );
    expectError(await get('resp_not-an-id'), 404, 'not_found');
    expectError(await get(`resp_${randomBytes(16).toString('hex')}`), 404, 'not_found');
    expectError(
      await create({ model: 'echo', input: 'hi', previous_response_id: 'resp_missing' }),
      404,
      'not_found',
    );

    // Another user's response is 404 everywhere, and cannot be continued.
    const mine = await completedResponse('private');
    expectError(await get(mine.id, bob), 404, 'not_found');
    expectError(await bob.request('POST', `/v1/responses/${mine.id}/cancel`), 404, 'not_found');
    expectError(await bob.request('DELETE', `/v1/responses/${mine.id}`), 404, 'not_found');
    expectError(
      await create({ model: 'echo', input: 'hi', previous_response_id: mine.id }, bob),
      404,
      'not_found',
    );
    expect((await get(mine.id)).status).toBe(200);

    // Bob has no runner.
    const noRunner = await create({ model: 'echo', input: 'hi' }, bob);
    expectError(noRunner, 503, 'runner_unavailable');
    expect(noRunner.body.message).toMatch(/No runner is available/);
    const sessions = await bob.ok<{ data: Json[] }>('GET', '/v1/sessions');
    expect(sessions.data).toEqual([]);
  });
});
