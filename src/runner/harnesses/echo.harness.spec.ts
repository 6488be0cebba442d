import { FlatItem } from 'src/protocol/items';
import { EchoHarness } from 'src/runner/harnesses/echo.harness';
import { HarnessAgent, HarnessError, HarnessStepInput } from 'src/runner/harnesses/harness';

let seq = 0;
function item(type: FlatItem['type'], data: Record<string, unknown>): FlatItem {
  seq++;
  return {
    id: `item_${seq}`,
    response_id: 'resp_1',
    type,
    status: 'completed',
    created_at: seq,
    ...data,
  };
}

function userMessage(text: string): FlatItem {
  return item('message', { role: 'user', content: [{ type: 'input_text', text }] });
}

const agent: HarnessAgent = { name: 'echo', instructions: null, executor: { harness: 'echo' } };

describe(EchoHarness.name, () => {
  let harness: EchoHarness;
  let controller: AbortController;
  let deltas: string[];

  const input = (
    history: FlatItem[],
    overrides: Partial<HarnessStepInput> = {},
  ): HarnessStepInput => ({
    agent,
    model: null,
    history,
    tools: [],
    signal: controller.signal,
    env: {},
    onTextDelta: (delta) => deltas.push(delta),
    ...overrides,
  });

  beforeEach(() => {
    harness = new EchoHarness();
    controller = new AbortController();
    deltas = [];
  });

  it('should be named echo', () => {
    expect(harness.name).toBe('echo');
  });

  it('should stream the user text back in several deltas', async () => {
    const text = 'Hello there, this is a longer message to echo back.';

    const result = await harness.step(input([userMessage(text)]));

    expect(result).toEqual({
      text,
      toolCalls: [],
      model: 'echo',
      usage: { input_tokens: 13, output_tokens: 13 },
    });
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(deltas.length).toBeLessThanOrEqual(5);
    expect(deltas.join('')).toBe(text);
  });

  it('should use at least two deltas for a two-character text and join text blocks', async () => {
    const message = item('message', {
      role: 'user',
      content: [
        { type: 'input_text', text: 'h' },
        { type: 'input_image', image_url: 'x' },
        { type: 'input_text', text: 'i' },
      ],
    });

    const result = await harness.step(input([message]));

    expect(result.text).toBe('hi');
    expect(deltas).toEqual(['h', 'i']);
  });

  it('should report the requested model', async () => {
    const withModel = { ...agent, executor: { harness: 'echo', model: 'echo-spec' } };

    await expect(
      harness.step(input([userMessage('x')], { agent: withModel })),
    ).resolves.toMatchObject({
      model: 'echo-spec',
    });
    await expect(
      harness.step(input([userMessage('x')], { agent: withModel, model: 'echo-session' })),
    ).resolves.toMatchObject({ model: 'echo-session' });
  });

  it('should call a tool for /tool', async () => {
    const result = await harness.step(input([userMessage('/tool list_dir {"path": "src"}')]));

    expect(result.text).toBe('');
    expect(result.toolCalls).toEqual([
      {
        callId: expect.stringMatching(/^call_[0-9a-f]+$/),
        name: 'list_dir',
        arguments: '{"path": "src"}',
      },
    ]);
    expect(deltas).toEqual([]);
  });

  it('should default /tool arguments to an empty object', async () => {
    const result = await harness.step(input([userMessage('/tool list_dir')]));

    expect(result.toolCalls[0]).toMatchObject({ name: 'list_dir', arguments: '{}' });
  });

  it('should refuse /tool arguments that are not a JSON object', async () => {
    await expect(harness.step(input([userMessage('/tool shell {oops')]))).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(harness.step(input([userMessage('/tool shell [1]')]))).rejects.toBeInstanceOf(
      HarnessError,
    );
    await expect(harness.step(input([userMessage('/tool')]))).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('should report the outputs of the tools it called', async () => {
    const history = [
      userMessage('/tool read_file {"path":"a"}'),
      item('function_call', {
        name: 'read_file',
        arguments: '{"path":"a"}',
        call_id: 'call_1',
        model: 'echo',
      }),
      item('function_call', { name: 'shell', arguments: '{}', call_id: 'call_2', model: 'echo' }),
      item('function_call_output', { call_id: 'call_1', output: 'file text' }),
      item('function_call_output', { call_id: 'call_2', output: 'done' }),
    ];

    const result = await harness.step(input(history));

    expect(result.text).toBe('Tool read_file returned: file text\nTool shell returned: done');
    expect(result.toolCalls).toEqual([]);
    expect(deltas.join('')).toBe(result.text);
  });

  it('should stream /sleep slowly over the requested time', async () => {
    const started = Date.now();

    const result = await harness.step(input([userMessage('/sleep 300')]));

    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(result.text).toBe('Slept 300 ms.');
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join('')).toBe('Slept 300 ms.');
  });

  it('should stop /sleep promptly when aborted', async () => {
    const started = Date.now();
    const step = harness.step(
      input([userMessage('/sleep 10000')], {
        onTextDelta: (delta) => {
          deltas.push(delta);
          setTimeout(() => controller.abort(), 50);
        },
      }),
    );

    await expect(step).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(deltas.length).toBeGreaterThanOrEqual(1);
  });

  it('should stream n deltas for /stream n, then the whole text', async () => {
    const result = await harness.step(input([userMessage('/stream 5')]));

    expect(deltas).toEqual(['1 ', '2 ', '3 ', '4 ', '5']);
    expect(result.text).toBe('1 2 3 4 5');
    expect(result.toolCalls).toEqual([]);
  });

  it('should refuse a /stream count that is not a positive integer in range', async () => {
    for (const bad of [
      '/stream',
      '/stream 0',
      '/stream -3',
      '/stream 2.5',
      '/stream x',
      '/stream 100001',
    ]) {
      await expect(harness.step(input([userMessage(bad)]))).rejects.toMatchObject({
        code: 'invalid_input',
      });
    }
    expect(deltas).toEqual([]);
  });

  it('should stop /stream when aborted', async () => {
    const step = harness.step(
      input([userMessage('/stream 100000')], {
        onTextDelta: (delta) => {
          deltas.push(delta);
          if (deltas.length === 10) {
            controller.abort();
          }
        },
      }),
    );

    await expect(step).rejects.toMatchObject({ name: 'AbortError' });
    expect(deltas.length).toBe(10);
  });

  it('should fail the turn for /fail', async () => {
    await expect(harness.step(input([userMessage('/fail something broke')]))).rejects.toEqual(
      new HarnessError('echo_failure', 'something broke'),
    );
    await expect(harness.step(input([userMessage('/fail something broke')]))).rejects.toMatchObject(
      {
        code: 'echo_failure',
        message: 'something broke',
      },
    );
  });

  it('should answer nothing when the history does not end with user input or tool output', async () => {
    const assistant = item('message', {
      role: 'assistant',
      content: [{ type: 'output_text', text: 'hi', annotations: [] }],
    });

    await expect(harness.step(input([assistant]))).resolves.toMatchObject({
      text: '',
      toolCalls: [],
    });
    await expect(harness.step(input([]))).resolves.toMatchObject({ text: '', toolCalls: [] });
  });
});
