import { randomBytes } from 'node:crypto';

import { OmnigentClient, OmnigentError, type StreamEvent } from '@omnigent-server/client';

import { mintToken } from 'src/common/auth/token-signer';
import { getConfig } from 'src/config/app-config';
import { expectValid } from 'test/contract/upstream-schemas';
import { RunnerProcess, ServerProcess, startRunner, startServer } from 'test/utils/processes';

const SECRET = 'responses-client-e2e-secret-0123456789';

describe("@omnigent-server/client's responses namespace and query() against a real server", () => {
  let server: ServerProcess;
  let runner: RunnerProcess;
  let client: OmnigentClient;

  beforeAll(async () => {
    server = await startServer({
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
      OMNIGENT_AUTH: 'jwt',
      OMNIGENT_JWT_SECRET: SECRET,
    });
    const auth = getConfig({ OMNIGENT_AUTH: 'jwt', OMNIGENT_JWT_SECRET: SECRET }).auth;
    const user = `client-${randomBytes(4).toString('hex')}`;
    const token = mintToken(auth, { sub: user, ttlSeconds: 3600 }).token;
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

  it('should raise OmnigentError with the server code for an unknown model', async () => {
    const failure = client.query({ model: 'no-such-agent', input: 'hi' });
    await expect(failure).rejects.toBeInstanceOf(OmnigentError);
    await expect(failure).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });
});
