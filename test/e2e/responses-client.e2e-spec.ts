import {
  assistantText,
  OmnigentClient,
  OmnigentError,
  type StreamEvent,
} from '@omnigent-server/client';

import { expectValid } from 'test/contract/upstream-schemas';
import { startJwtServer } from 'test/utils/jwt-server';
import { RunnerProcess, ServerProcess, startRunner } from 'test/utils/processes';

const SECRET = 'responses-client-e2e-secret-0123456789';

describe("@omnigent-server/client's responses namespace and query() against a real server", () => {
  let server: ServerProcess;
  let runner: RunnerProcess;
  let client: OmnigentClient;

  beforeAll(async () => {
    const jwt = await startJwtServer(SECRET);
    server = jwt.server;
    const token = jwt.newUserToken('client');
    client = new OmnigentClient({ baseUrl: server.url, token });
    runner = await startRunner(server.url, ['--token', token]);
  }, 60_000);

  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
  });

  it('should answer query() with the text, and stream it in chunks with stream: true', async () => {
    expect(await client.query({ model: 'echo', input: 'hello from query' })).toBe(
      'hello from query',
    );
    const chunks: string[] = [];
    for await (const chunk of client.query({
      model: 'echo',
      input: 'several words streamed back',
      stream: true,
    })) {
      chunks.push(chunk);
    }
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toBe('several words streamed back');
  });

  it('should keep the context across two queries of one session()', async () => {
    const session = client.session('echo');
    expect(await session.query('the first question, with some length to it')).toBe(
      'the first question, with some length to it',
    );
    const first = session.lastResponseId as string;
    const conversationId = session.conversationId;
    expect(conversationId).toMatch(/^conv_/);
    expect(await session.query('and a second')).toBe('and a second');
    expect(session.conversationId).toBe(conversationId);

    const second = await client.responses.get(session.lastResponseId as string);
    expectValid('ResponseObject', second);
    expect(second.previous_response_id).toBe(first);
    // The second turn's prompt held the first turn: larger than the same text alone.
    const alone = await client.responses.create({ model: 'echo', input: 'and a second' });
    expect(second.usage?.input_tokens).toBeGreaterThan(Number(alone.usage?.input_tokens));
  });

  it('should create, follow, poll, cancel and delete responses', async () => {
    const background = await client.responses.create({
      model: 'echo',
      input: '/sleep 1000',
      background: true,
    });
    expect(['queued', 'in_progress']).toContain(background.status);
    const types: string[] = [];
    for await (const event of client.responses.follow(background.id)) {
      types.push((event as StreamEvent).type);
    }
    expect(types.at(-1)).toBe('response.completed');
    const done = await client.responses.poll(background.id, { intervalMs: 50, timeoutMs: 10_000 });
    expect(done.status).toBe('completed');

    const long = await client.responses.create({
      model: 'echo',
      input: '/sleep 20000',
      background: true,
    });
    // The first turn of a new chain runs at once.
    expect(long.status).toBe('in_progress');
    const cancelled = await client.responses.cancel(long.id);
    expect(cancelled.status).toBe('incomplete');
    expect(await client.responses.delete(long.id)).toEqual({
      id: long.id,
      object: 'response',
      deleted: true,
    });
    await expect(client.responses.get(long.id)).rejects.toMatchObject({
      status: 404,
      code: 'not_found',
    });
  });

  it("should hand a client-side tool's result to the waiting response", async () => {
    const started = await client.responses.create({
      model: 'echo',
      input: '/tool lookup {}',
      tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object' } }],
      background: true,
    });
    let call: Record<string, unknown> | undefined;
    while (!call) {
      const current = await client.responses.get(started.id);
      call = current.output.find(
        (item) => item.type === 'function_call' && item.status === 'action_required',
      );
      expect(current.status).toBe('in_progress');
    }
    await client.responses.submitToolResults(started.id, [
      { call_id: String(call.call_id), output: 'cloudy' },
    ]);
    const done = await client.responses.poll(started.id, { intervalMs: 50, timeoutMs: 10_000 });
    expect(assistantText(done.output)).toBe('Tool lookup returned: cloudy');
  });

  it('should raise OmnigentError with the server code for an unknown model', async () => {
    const failure = client.query({ model: 'no-such-agent', input: 'hi' });
    await expect(failure).rejects.toBeInstanceOf(OmnigentError);
    await expect(failure).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });
});
