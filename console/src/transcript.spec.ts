import type { StreamEvent } from '@omnigent-server/client';

import { applyEvent, applyItem, emptyTranscript, type Transcript } from './transcript';

const ev = (event: Record<string, unknown>) => event as unknown as StreamEvent;
const fold = (state: Transcript, events: Record<string, unknown>[]) =>
  events.map(ev).reduce(applyEvent, state);

const userItem = {
  id: 'msg_user',
  type: 'message',
  status: 'completed',
  response_id: 'resp_1',
  created_at: 1,
  data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
};
const assistantDone = {
  type: 'response.output_item.done',
  item: {
    id: 'msg_reply',
    type: 'message',
    role: 'assistant',
    content: [{ type: 'output_text', text: 'hello there' }],
  },
};

describe('transcript', () => {
  it('should show a listed item and skip the same item when the stream repeats it', () => {
    const listed = applyItem(emptyTranscript(), userItem);
    const again = fold(listed, [
      {
        type: 'session.input.consumed',
        data: { item_id: 'msg_user', type: 'message', data: userItem.data },
      },
    ]);
    expect(again.entries).toEqual([{ kind: 'user', id: 'msg_user', text: 'hi' }]);
  });

  it('should stream deltas live and replace them with the final message, whole', () => {
    // The second delta was lost in a reconnect: the final item still carries all the text.
    const streaming = fold(emptyTranscript(), [
      { type: 'response.output_text.delta', delta: 'hello' },
    ]);
    expect(streaming.live).toBe('hello');
    const done = fold(streaming, [assistantDone, { type: 'response.completed', response: {} }]);
    expect(done.live).toBe('');
    expect(done.entries).toEqual([{ kind: 'assistant', id: 'msg_reply', text: 'hello there' }]);
  });

  it('should keep streamed text when a turn fails before its final message', () => {
    const failed = fold(emptyTranscript(), [
      { type: 'response.output_text.delta', delta: 'partial' },
      { type: 'response.failed', response: { error: { code: 'boom', message: 'it broke' } } },
    ]);
    expect(failed.entries.map((e) => [e.kind, 'text' in e ? e.text : ''])).toEqual([
      ['assistant', 'partial'],
      ['error', 'The turn failed: it broke (boom)'],
    ]);
  });

  it('should attach a tool output and its progress to the call', () => {
    const state = fold(emptyTranscript(), [
      {
        type: 'response.output_item.done',
        item: {
          id: 'fc_1',
          type: 'function_call',
          call_id: 'call_1',
          name: 'shell',
          arguments: '{"cmd":"ls"}',
        },
      },
      { type: 'response.function_call_output.delta', call_id: 'call_1', delta: 'a\n' },
      {
        type: 'response.output_item.done',
        item: { id: 'fco_1', type: 'function_call_output', call_id: 'call_1', output: 'a\nb\n' },
      },
    ]);
    expect(state.entries).toEqual([
      {
        kind: 'tool',
        id: 'fc_1',
        callId: 'call_1',
        name: 'shell',
        args: '{"cmd":"ls"}',
        progress: 'a\n',
        output: 'a\nb\n',
      },
    ]);
  });

  it('should list an approval once and drop it when it is resolved', () => {
    const request = {
      type: 'response.elicitation_request',
      elicitation_id: 'elicit_1',
      params: { message: 'Allow shell?', policy_name: 'ask' },
    };
    const asked = fold(emptyTranscript(), [request, request]);
    expect(asked.approvals).toEqual([
      { id: 'elicit_1', message: 'Allow shell?', policy: 'ask', preview: undefined },
    ]);
    const resolved = fold(asked, [
      { type: 'response.elicitation_resolved', elicitation_id: 'elicit_1' },
    ]);
    expect(resolved.approvals).toEqual([]);
  });

  it('should track the status and flag a pruned resume point', () => {
    const state = fold(emptyTranscript(), [
      { type: 'session.status', status: 'running', conversation_id: 'c' },
      { type: 'stream.reset' },
    ]);
    expect(state.status).toBe('running');
    expect(state.reset).toBe(true);
  });
});
