import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { OPTIONAL, REQUIRED, STREAM_EVENT_FIELDS } from 'src/protocol/stream-event-fields';
import {
  InvalidStreamEventError,
  isKnownEventType,
  isTransientEvent,
  normalizeStreamEvent,
  StreamEvents,
  TRANSIENT_EVENT_TYPES,
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

  it('should refuse a response event without a response id', () => {
    expect(() =>
      normalizeStreamEvent({ type: 'response.completed', response: { status: 'completed' } }, 'c'),
    ).toThrow("needs 'response.id'");
    expect(() => normalizeStreamEvent({ type: 'response.created', response: 'x' }, 'c')).toThrow(
      InvalidStreamEventError,
    );
  });

  it('should leave out an optional field without a default', () => {
    expect(normalizeStreamEvent({ type: 'turn.failed' }, 'conv_1')).toEqual({
      type: 'turn.failed',
      session_id: 'conv_1',
      sequence_number: null,
    });
  });

  it('should know which events are transient', () => {
    expect(isTransientEvent('response.output_text.delta')).toBe(true);
    expect(isTransientEvent('session.heartbeat')).toBe(true);
    expect(isTransientEvent('response.output_item.done')).toBe(false);
    expect(isTransientEvent('session.interrupted')).toBe(false);
  });

  it('should take the conversation first in every builder', () => {
    expect(
      StreamEvents.status('conv_1', 'failed', { error: { code: 'x', message: 'y' } }),
    ).toMatchObject({
      type: 'session.status',
      conversation_id: 'conv_1',
      status: 'failed',
      error: { code: 'x', message: 'y' },
    });
    expect(
      StreamEvents.response('conv_1', 'response.completed', { id: 'resp_1', status: 'completed' }),
    ).toMatchObject({
      type: 'response.completed',
      response: { id: 'resp_1', conversation: { id: 'conv_1' } },
    });
    expect(StreamEvents.outputItemDone('conv_1', { id: 'msg_1', type: 'message' })).toEqual({
      type: 'response.output_item.done',
      item: { id: 'msg_1', type: 'message' },
      sequence_number: null,
    });
    expect(StreamEvents.interrupted('conv_1', 'resp_1').data).toMatchObject({
      response_id: 'resp_1',
    });
    expect(StreamEvents.reset('conv_1')).toEqual({
      type: 'stream.reset',
      conversation_id: 'conv_1',
    });
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

describe('the event table against upstream schemas', () => {
  interface Schema {
    properties: Record<string, { default?: unknown }>;
    required?: string[];
  }
  const document = JSON.parse(
    readFileSync(join(__dirname, '../../test/contract/omnigent-openapi.json'), 'utf8'),
  ) as { components: { schemas: Record<string, Schema> } };
  const schemas = document.components.schemas;
  const union = schemas.ServerStreamEvent as unknown as {
    discriminator: { mapping: Record<string, string> };
  };
  const mapping = Object.entries(union.discriminator.mapping).map(
    ([type, ref]) => [type, schemas[ref.split('/').pop() as string]] as const,
  );

  it('should know exactly the event types of ServerStreamEvent', () => {
    expect(Object.keys(STREAM_EVENT_FIELDS).sort()).toEqual(mapping.map(([type]) => type).sort());
  });

  it.each(mapping)('should mirror the fields of %s', (type, schema) => {
    const expected = Object.fromEntries(
      Object.entries(schema.properties)
        .filter(([name]) => name !== 'type')
        .map(([name, property]) => [
          name,
          schema.required?.includes(name)
            ? REQUIRED
            : 'default' in property
              ? property.default
              : OPTIONAL,
        ]),
    );
    expect(STREAM_EVENT_FIELDS[type as keyof typeof STREAM_EVENT_FIELDS]).toEqual(expected);
  });

  it('should only call known types transient (stream.reset is ours)', () => {
    for (const type of TRANSIENT_EVENT_TYPES) {
      expect(isKnownEventType(type) || type === 'stream.reset').toBe(true);
    }
  });
});
