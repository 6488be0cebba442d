import {
  declaredProperties,
  expectStreamEvent,
  expectValid,
  streamEventSchemaName,
  streamEventTypes,
} from 'test/contract/upstream-schemas';

const ID = 'conv_0194f1c2e3a4b5c6d7e8f90123456789';

function sessionResponse(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: ID,
    agent_id: 'ag_0123456789abcdef0123456789abcdef',
    agent_name: 'echo',
    status: 'idle',
    created_at: 1_760_000_000,
    updated_at: 1_760_000_000,
    title: null,
    labels: {},
    items: [
      {
        id: 'cmp_0194f1c2e3a4b5c6d7e8f90123456789',
        type: 'compaction',
        status: 'completed',
        response_id: 'compact_0194f1c2e3a4b5c6d7e8f901',
        created_at: 1_760_000_000,
        created_by: null,
        data: { summary: 'so far', last_item_id: 'msg_1', token_count: 12 },
      },
    ],
    runner_online: null,
    sandbox_status: null,
    ...overrides,
  };
}

function sessionStatus(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'session.status',
    conversation_id: ID,
    status: 'idle',
    background_task_count: null,
    blocked_on: null,
    error: null,
    response_id: null,
    sequence_number: null,
    ...overrides,
  };
}

describe('upstream contract validator', () => {
  describe('expectValid', () => {
    it('should accept a good SessionResponse', () => {
      expect(() => expectValid('SessionResponse', sessionResponse())).not.toThrow();
    });

    it('should reject a SessionResponse without id, naming the missing property', () => {
      const { id: _id, ...withoutId } = sessionResponse();
      expect(() => expectValid('SessionResponse', withoutId)).toThrow(
        /SessionResponse[\s\S]*must have required property 'id'/,
      );
    });

    it('should follow $refs into nested component schemas', () => {
      const badItem = sessionResponse({ items: [{ id: 'x', type: 'message' }] });
      expect(() => expectValid('SessionResponse', badItem)).toThrow(/\/items\/0/);
      const badStage = sessionResponse({ sandbox_status: { stage: 'nope', error: null } });
      expect(() => expectValid('SessionResponse', badStage)).toThrow(/\/sandbox_status/);
    });

    it('should reject wrong types and enum values', () => {
      expect(() => expectValid('SessionResponse', sessionResponse({ created_at: '1' }))).toThrow(
        /\/created_at must be integer/,
      );
      expect(() => expectValid('SessionResponse', sessionResponse({ status: 'done' }))).toThrow(
        /\/status must be equal to one of the allowed values/,
      );
    });

    it('should require a non-null updated_at on SessionListItem', () => {
      const row = { id: ID, agent_id: 'ag_x', status: 'idle', created_at: 1, updated_at: 2 };
      expect(() => expectValid('SessionListItem', row)).not.toThrow();
      expect(() => expectValid('SessionListItem', { ...row, updated_at: null })).toThrow(
        /updated_at/,
      );
    });

    it('should refuse a schema name that is not in the document', () => {
      expect(() => expectValid('NoSuchSchema', {})).toThrow(/no component schema 'NoSuchSchema'/);
    });
  });

  describe('expectStreamEvent', () => {
    it('should map every discriminator value to a component schema', () => {
      const types = streamEventTypes();
      expect(types).toHaveLength(54);
      for (const type of types) {
        expect(declaredProperties(streamEventSchemaName(type) as string)).toContain('type');
      }
    });

    it('should accept a complete session.status and session.heartbeat', () => {
      expect(() => expectStreamEvent(sessionStatus())).not.toThrow();
      expect(() =>
        expectStreamEvent({ type: 'session.heartbeat', sequence_number: null, server_time: null }),
      ).not.toThrow();
    });

    it('should reject a session.status without conversation_id', () => {
      const { conversation_id: _c, ...event } = sessionStatus();
      expect(() => expectStreamEvent(event)).toThrow(
        /SessionStatusEvent[\s\S]*must have required property 'conversation_id'/,
      );
    });

    it('should reject a session.status that leaves out an optional field instead of null', () => {
      const { blocked_on: _b, ...event } = sessionStatus();
      expect(() => expectStreamEvent(event)).toThrow(/lacks declared properties blocked_on/);
    });

    it('should reject the nested session.status shape of upstream API.md', () => {
      expect(() => expectStreamEvent({ type: 'session.status', data: { status: 'idle' } })).toThrow(
        /conversation_id/,
      );
    });

    it('should reject an unknown event type and a missing type', () => {
      expect(() => expectStreamEvent({ type: 'session.nope' })).toThrow(/not in ServerStreamEvent/);
      expect(() => expectStreamEvent({ status: 'idle' })).toThrow(/not in ServerStreamEvent/);
    });

    it('should validate nested payloads of the picked variant', () => {
      const item = { type: 'response.output_item.done', item: 'x', sequence_number: null };
      expect(() => expectStreamEvent(item)).toThrow(/\/item must be object/);
    });
  });
});
