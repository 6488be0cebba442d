import type { StreamEvent } from '@omnigent-server/client';

import { TurnPrinter, TurnTracker } from 'src/cli/chat-turn';

const conv = 'conv_0123456789abcdef0123456789abcdef';
const status = (s: 'running' | 'idle' | 'failed', responseId: string): StreamEvent => ({
  type: 'session.status',
  conversation_id: conv,
  status: s,
  response_id: responseId,
  ...(s === 'failed' ? { error: { code: 'echo_failure', message: 'boom' } } : {}),
});
const consumed = (itemId: string): StreamEvent => ({
  type: 'session.input.consumed',
  data: { item_id: itemId, type: 'message', data: {} },
});
const response = (
  type: 'response.created' | 'response.completed' | 'response.failed',
  id: string,
): StreamEvent =>
  ({
    type,
    response: {
      id,
      created_at: 0,
      model: 'echo',
      status: type === 'response.failed' ? 'failed' : 'completed',
      ...(type === 'response.failed' ? { error: { code: 'echo_failure', message: 'boom' } } : {}),
    },
  }) as StreamEvent;
const delta = (text: string): StreamEvent => ({ type: 'response.output_text.delta', delta: text });

function run(tracker: TurnTracker, events: StreamEvent[]) {
  return events.map((event) => tracker.accept(event).kind);
}

describe(TurnTracker.name, () => {
  it('should ignore the trailing failure of the previous turn (the `/fail boom` bug)', () => {
    const tracker = new TurnTracker('msg_2');
    const steps = run(tracker, [
      // leftovers of turn resp_1, still queued when the next message is sent
      status('failed', 'resp_1'),
      response('response.failed', 'resp_1'),
      // our turn
      status('running', 'resp_2'),
      consumed('msg_2'),
      response('response.created', 'resp_2'),
      delta('hello'),
      response('response.completed', 'resp_2'),
    ]);
    expect(steps).toEqual(['ignore', 'ignore', 'ignore', 'ignore', 'event', 'event', 'done']);
    // …and the trailing status of our own turn, read by nobody else, is ignored too
    expect(tracker.accept(status('idle', 'resp_2')).kind).toBe('ignore');
    expect(tracker.responseId).toBe('resp_2');
  });

  it('should find a turn queued behind another one by the next turn to start', () => {
    const tracker = new TurnTracker('msg_2');
    const steps = run(tracker, [
      status('running', 'resp_1'),
      response('response.created', 'resp_1'),
      consumed('msg_2'), // queued: no status of its own
      delta('other'),
      response('response.completed', 'resp_1'),
      status('idle', 'resp_1'),
      response('response.created', 'resp_2'),
      delta('mine'),
      response('response.failed', 'resp_2'),
    ]);
    expect(steps).toEqual([
      'ignore',
      'ignore',
      'ignore',
      'ignore',
      'ignore',
      'ignore',
      'ignore',
      'event',
      'done',
    ]);
    expect(tracker.responseId).toBe('resp_2');
  });

  it('should end the turn on its own failed status when no response.* terminal comes', () => {
    const tracker = new TurnTracker('msg_1');
    expect(
      run(tracker, [status('running', 'resp_1'), consumed('msg_1'), status('failed', 'resp_1')]),
    ).toEqual(['ignore', 'ignore', 'done']);
    expect(tracker.accept(status('failed', 'resp_9')).kind).toBe('ignore');
  });

  it('should take the next turn when the message had no item id (held for approval)', () => {
    const tracker = new TurnTracker(undefined);
    expect(
      run(tracker, [
        status('failed', 'resp_0'),
        status('running', 'resp_1'),
        response('response.created', 'resp_1'),
        response('response.completed', 'resp_1'),
      ]),
    ).toEqual(['ignore', 'ignore', 'event', 'done']);
  });
});

describe(TurnPrinter.name, () => {
  it('should make up text deltas lost during a reconnect from the final message', () => {
    let stdout = '';
    const printer = new TurnPrinter(
      (text) => (stdout += text),
      () => undefined,
    );
    printer.print(delta('hel'));
    // 'lo wor' was lost while the stream was down
    printer.print({
      type: 'response.output_item.done',
      item: {
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'hello world' }],
      },
    });
    expect(stdout).toBe('hello world\n');
  });

  it('should show tool calls and failures on stderr', () => {
    let stderr = '';
    const printer = new TurnPrinter(
      () => undefined,
      (text) => (stderr += text),
    );
    printer.print({
      type: 'response.output_item.done',
      item: { type: 'function_call', name: 'list_dir', arguments: '{}' },
    });
    printer.print({
      type: 'response.output_item.done',
      item: { type: 'function_call_output', output: 'a.txt' },
    });
    printer.print(response('response.failed', 'resp_1'));
    expect(stderr).toBe('⚙ list_dir({})\n↳ a.txt\n✗ echo_failure: boom\n');
    expect(printer.failure).toBe('echo_failure: boom');
  });
});
