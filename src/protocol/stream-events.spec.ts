import {
  InvalidStreamEventError,
  isTransientEvent,
  normalizeStreamEvent,
  StreamEvents,
} from 'src/protocol/stream-events';

describe('stream events', () => {
  it('should fill every schema field, drop unknown keys and add the conversation id', () => {
    const event = normalizeStreamEvent(
      { type: 'session.status', status: 'idle', secret: 'x' },
      'conv_1',
    );
    expect(event).toEqual({
      type: 'session.status',
      status: 'idle',
      conversation_id: 'conv_1',
      background_task_count: null,
      blocked_on: null,
      error: null,
      response_id: null,
      sequence_number: null,
    });
  });

  it('should complete nested response objects and errors', () => {
    const event = normalizeStreamEvent(
      {
        type: 'response.failed',
        response: { id: 'resp_1', status: 'failed', error: { code: 'x', message: 'y' } },
      },
      'conv_1',
    );
    expect(event.response).toMatchObject({
      id: 'resp_1',
      object: 'response',
      status: 'failed',
      model: 'unknown',
      output: [],
      usage: null,
      conversation: { id: 'conv_1' },
      error: { code: 'x', message: 'y', title: null, cause: null, remediation: null },
    });
  });

  it('should refuse unknown types and missing required fields', () => {
    expect(() => normalizeStreamEvent({ type: 'response.nope' }, 'c')).toThrow(
      InvalidStreamEventError,
    );
    expect(() => normalizeStreamEvent({ type: 'response.output_text.delta' }, 'c')).toThrow(
      "needs 'delta'",
    );
  });

  it('should know which events are transient', () => {
    expect(isTransientEvent('response.output_text.delta')).toBe(true);
    expect(isTransientEvent('session.heartbeat')).toBe(true);
    expect(isTransientEvent('response.output_item.done')).toBe(false);
    expect(isTransientEvent('session.interrupted')).toBe(false);
  });

  it('should build the nested input-consumed payload', () => {
    const event = StreamEvents.inputConsumed('conv_1', {
      id: 'msg_1',
      type: 'message',
      data: { role: 'user', content: [] },
    });
    expect(event).toEqual({
      type: 'session.input.consumed',
      sequence_number: null,
      data: {
        item_id: 'msg_1',
        type: 'message',
        data: { role: 'user', content: [] },
        created_by: null,
        cleared_pending_id: null,
      },
    });
  });
});
