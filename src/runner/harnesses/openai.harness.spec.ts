import { FlatItem } from 'src/protocol/items';
import {
  HarnessAgent,
  HarnessError,
  HarnessRetry,
  HarnessStepInput,
} from 'src/runner/harnesses/harness';
import { buildChatMessages } from 'src/runner/harnesses/openai-messages';
import { OpenAiHarness } from 'src/runner/harnesses/openai.harness';
import { listDirTool } from 'src/runner/tools/list-dir.tool';
import { ScriptedOpenAi, startScriptedOpenAi } from 'test/utils/scripted-openai-server';

let seq = 0;
function item(
  type: FlatItem['type'],
  data: Record<string, unknown>,
  responseId = 'resp_1',
): FlatItem {
  seq++;
  return {
    id: `item_${seq}`,
    response_id: responseId,
    type,
    status: 'completed',
    created_at: seq,
    ...data,
  };
}

function userMessage(text: string, responseId = 'resp_1'): FlatItem {
  return item('message', { role: 'user', content: [{ type: 'input_text', text }] }, responseId);
}

function assistantMessage(text: string, responseId = 'resp_1'): FlatItem {
  return item(
    'message',
    { role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] },
    responseId,
  );
}

function functionCall(callId: string, name: string, args: string, responseId = 'resp_1'): FlatItem {
  return item(
    'function_call',
    { name, arguments: args, call_id: callId, model: 'gpt-test' },
    responseId,
  );
}

function functionOutput(callId: string, output: string, responseId = 'resp_1'): FlatItem {
  return item('function_call_output', { call_id: callId, output }, responseId);
}

describe(OpenAiHarness.name, () => {
  let server: ScriptedOpenAi | undefined;
  let harness: OpenAiHarness;
  let deltas: string[];
  let retries: HarnessRetry[];
  let controller: AbortController;

  const agent = (executor: Partial<HarnessAgent['executor']> = {}): HarnessAgent => ({
    name: 'assistant',
    instructions: 'Be brief.',
    executor: {
      harness: 'openai',
      model: 'gpt-test',
      auth: { type: 'api_key', api_key: 'sk-test-key', base_url: server?.url },
      ...executor,
    },
  });

  const input = (overrides: Partial<HarnessStepInput> = {}): HarnessStepInput => ({
    agent: agent(),
    model: null,
    history: [userMessage('Hi')],
    tools: [],
    signal: controller.signal,
    env: {},
    onTextDelta: (delta) => deltas.push(delta),
    onRetry: (retry) => retries.push(retry),
    ...overrides,
  });

  beforeEach(() => {
    harness = new OpenAiHarness();
    deltas = [];
    retries = [];
    controller = new AbortController();
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('should be named openai', () => {
    expect(harness.name).toBe('openai');
  });

  it('should stream text deltas and return the text, model and usage', async () => {
    server = await startScriptedOpenAi([
      { chunks: ['Hel', 'lo', ' world'], usage: { prompt_tokens: 12, completion_tokens: 3 } },
    ]);

    const result = await harness.step(input());

    expect(deltas).toEqual(['Hel', 'lo', ' world']);
    expect(result).toEqual({
      text: 'Hello world',
      toolCalls: [],
      model: 'gpt-test',
      usage: { input_tokens: 12, output_tokens: 3 },
    });
    expect(server.authorizations).toEqual(['Bearer sk-test-key']);
    expect(server.requests[0]).toEqual({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('should send the tools and assemble streamed tool calls', async () => {
    server = await startScriptedOpenAi([
      {
        text: 'Let me look.',
        toolCalls: [
          { id: 'call_a', name: 'list_dir', arguments: '{"path":"src"}' },
          { id: 'call_b', name: 'read_file', arguments: '{"path":"README.md"}' },
        ],
      },
    ]);

    const result = await harness.step(input({ tools: [listDirTool] }));

    expect(result.text).toBe('Let me look.');
    expect(result.toolCalls).toEqual([
      { callId: 'call_a', name: 'list_dir', arguments: '{"path":"src"}' },
      { callId: 'call_b', name: 'read_file', arguments: '{"path":"README.md"}' },
    ]);
    expect(server.requests[0].tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'list_dir',
          description: listDirTool.description,
          parameters: listDirTool.parameters,
        },
      },
    ]);
  });

  it('should send the conversation with a tool round trip', async () => {
    server = await startScriptedOpenAi([{ text: 'Done.' }]);
    const history = [
      userMessage('Earlier question', 'resp_0'),
      assistantMessage('Earlier answer', 'resp_0'),
      userMessage('List src'),
      assistantMessage('Looking.'),
      functionCall('call_1', 'list_dir', '{"path":"src"}'),
      functionCall('call_2', 'read_file', '{"path":"a"}'),
      item('resource_event', { event_type: 'x', resource_id: 'r', resource_type: 'file' }),
      functionOutput('call_1', 'src: 1 entry'),
      functionOutput('call_2', 'text of a'),
    ];

    await harness.step(input({ history }));

    expect(server.requests[0].messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Earlier question' },
      { role: 'assistant', content: 'Earlier answer' },
      { role: 'user', content: 'List src' },
      {
        role: 'assistant',
        content: 'Looking.',
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'list_dir', arguments: '{"path":"src"}' },
          },
          {
            id: 'call_2',
            type: 'function',
            function: { name: 'read_file', arguments: '{"path":"a"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'src: 1 entry' },
      { role: 'tool', tool_call_id: 'call_2', content: 'text of a' },
    ]);
  });

  it('should retry a 429 after the Retry-After delay and then succeed', async () => {
    server = await startScriptedOpenAi([
      {
        status: 429,
        body: { error: { message: 'Slow down' } },
        headers: { 'retry-after': '0.05' },
      },
      { status: 503 },
      { text: 'Recovered' },
    ]);

    const result = await harness.step(input());

    expect(result.text).toBe('Recovered');
    expect(server.requests).toHaveLength(3);
    expect(retries).toEqual([
      {
        attempt: 1,
        maxAttempts: 4,
        delaySeconds: 0.05,
        error: {
          code: 'rate_limit',
          message: 'Rate limited by the model provider (HTTP 429): Slow down',
        },
      },
      {
        attempt: 2,
        maxAttempts: 4,
        delaySeconds: 1,
        error: { code: 'server_error', message: expect.stringContaining('HTTP 503') },
      },
    ]);
  });

  it('should give up with llm_unavailable after four attempts', async () => {
    const busy = { status: 500, headers: { 'retry-after': '0' } };
    server = await startScriptedOpenAi([busy, busy, busy, busy]);

    await expect(harness.step(input())).rejects.toMatchObject({
      code: 'llm_unavailable',
      message: expect.stringContaining('after 4 attempts'),
    });
    expect(server.requests).toHaveLength(4);
    expect(retries).toHaveLength(3);
  });

  it('should retry connection failures', async () => {
    const unreachable = agent({ auth: { api_key: 'k', base_url: 'http://127.0.0.1:1/v1' } });
    const onRetry = jest.fn((retry: HarnessRetry) => {
      // Abort during the wait to keep the test fast; the error must be the abort.
      if (retry.attempt === 2) {
        controller.abort();
      }
    });

    await expect(harness.step(input({ agent: unreachable, onRetry }))).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(onRetry.mock.calls[0][0]).toMatchObject({
      attempt: 1,
      delaySeconds: 0.5,
      error: { code: 'connection_error', message: expect.stringContaining('http://127.0.0.1:1') },
    });
  });

  it('should fail with auth_error on 401 without retrying', async () => {
    server = await startScriptedOpenAi([
      { status: 401, body: { error: { message: 'Incorrect API key provided: sk-test-key' } } },
    ]);

    const failure = harness.step(input());

    await expect(failure).rejects.toBeInstanceOf(HarnessError);
    await expect(failure).rejects.toMatchObject({
      code: 'auth_error',
      message:
        'The model provider rejected the API key (HTTP 401): Incorrect API key provided: ***',
    });
    expect(server.requests).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it('should fail with llm_error on other 4xx answers', async () => {
    server = await startScriptedOpenAi([
      { status: 400, body: { error: { message: "Invalid 'messages[1].content'" } } },
    ]);

    await expect(harness.step(input())).rejects.toMatchObject({
      code: 'llm_error',
      message: "The model provider rejected the request (HTTP 400): Invalid 'messages[1].content'",
    });
    expect(server.requests).toHaveLength(1);
  });

  it('should fall back to the environment for base URL, key and model', async () => {
    server = await startScriptedOpenAi([{ text: 'ok' }]);
    const bare: HarnessAgent = { name: 'a', instructions: null, executor: { harness: 'openai' } };

    const result = await harness.step(
      input({
        agent: bare,
        env: { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-env', OPENAI_MODEL: 'gpt-env' },
      }),
    );

    expect(result.model).toBe('gpt-env');
    expect(server.authorizations).toEqual(['Bearer sk-env']);
    expect(server.requests[0]).toMatchObject({ model: 'gpt-env' });
  });

  it('should prefer the session model over the spec model', async () => {
    server = await startScriptedOpenAi([{ text: 'ok' }]);

    await harness.step(input({ model: 'gpt-session' }));

    expect(server.requests[0]).toMatchObject({ model: 'gpt-session' });
  });

  it('should resolve ${VAR} references in executor.auth from the environment', async () => {
    server = await startScriptedOpenAi([{ text: 'ok' }]);
    const port = new URL(server.url).port;
    const referencing = agent({
      auth: { type: 'api_key', api_key: '${MY_KEY}', base_url: 'http://127.0.0.1:${MY_PORT}/v1' },
    });

    await harness.step(input({ agent: referencing, env: { MY_KEY: 'sk-ref', MY_PORT: port } }));

    expect(server.authorizations).toEqual(['Bearer sk-ref']);
  });

  it('should fail with harness_not_configured for an unset ${VAR}', async () => {
    const referencing = agent({ auth: { api_key: '${MISSING_KEY}' } });

    await expect(harness.step(input({ agent: referencing }))).rejects.toMatchObject({
      code: 'harness_not_configured',
      message: expect.stringContaining('MISSING_KEY'),
    });
  });

  it('should fail with harness_not_configured without an API key or a model', async () => {
    const noKey: HarnessAgent = {
      name: 'a',
      instructions: null,
      executor: { harness: 'openai', model: 'm' },
    };
    const noModel: HarnessAgent = {
      name: 'a',
      instructions: null,
      executor: { harness: 'openai' },
    };

    await expect(harness.step(input({ agent: noKey }))).rejects.toMatchObject({
      code: 'harness_not_configured',
      message: expect.stringContaining('OPENAI_API_KEY'),
    });
    await expect(
      harness.step(input({ agent: noModel, env: { OPENAI_API_KEY: 'k' } })),
    ).rejects.toMatchObject({
      code: 'harness_not_configured',
      message: expect.stringContaining('OPENAI_MODEL'),
    });
  });

  it('should stop streaming when aborted', async () => {
    server = await startScriptedOpenAi([
      { chunks: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], delayMs: 100 },
    ]);

    const step = harness.step(
      input({
        onTextDelta: (delta) => {
          deltas.push(delta);
          controller.abort();
        },
      }),
    );

    await expect(step).rejects.toMatchObject({ name: 'AbortError' });
    expect(deltas).toEqual(['a']);
  });
});

describe(buildChatMessages.name, () => {
  it('should answer dangling calls and drop tool outputs without a call', () => {
    const history = [
      userMessage('Go'),
      functionCall('call_1', 'shell', '{"command":"sleep 9"}'),
      userMessage('Stop that', 'resp_2'),
      functionOutput('call_orphan', 'stray', 'resp_2'),
    ];

    expect(buildChatMessages(null, history)).toEqual([
      { role: 'user', content: 'Go' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'shell', arguments: '{"command":"sleep 9"}' },
          },
        ],
      },
      {
        role: 'tool',
        tool_call_id: 'call_1',
        content: 'Error: no output was recorded for this tool call.',
      },
      { role: 'user', content: 'Stop that' },
    ]);
  });

  it('should keep calls of separate steps in separate assistant messages', () => {
    const history = [
      userMessage('Go'),
      functionCall('call_1', 'list_dir', '{}'),
      functionOutput('call_1', 'a'),
      functionCall('call_2', 'list_dir', '{}'),
      functionOutput('call_2', 'b'),
    ];

    const messages = buildChatMessages(null, history);

    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant', 'tool']);
  });
});
