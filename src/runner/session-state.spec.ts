import { SessionEventParams, SessionInitParams } from 'src/protocol/runner-protocol';
import { StreamEvent } from 'src/protocol/stream-events';
import { HarnessError } from 'src/runner/harnesses/harness';
import { OUTBOX_MAX_EVENTS, SessionState } from 'src/runner/session-state';

function init(overrides: Partial<SessionInitParams> = {}): SessionInitParams {
  return {
    session_id: 'conv_state',
    agent: { id: 'ag_1', name: 'echo', version: 1, spec: {} },
    snapshot: {
      workspace: null,
      labels: {},
      model_override: null,
      reasoning_effort: null,
      parent_session_id: null,
    },
    history: [],
    next_seq: 10,
    policy: { tool_call: true, tool_result: false },
    ...overrides,
  };
}

const delta: StreamEvent = { type: 'response.output_text.delta', delta: 'x' };
const status: StreamEvent = {
  type: 'session.status',
  conversation_id: 'conv_state',
  status: 'idle',
};

describe(SessionState.name, () => {
  let sent: SessionEventParams[];
  let state: SessionState;

  beforeEach(() => {
    sent = [];
    state = new SessionState('conv_state', init(), (params) => sent.push(params));
  });

  describe('emit', () => {
    it('should number every event from next_seq and keep only durable ones until acknowledged', () => {
      state.emit(status, true, 'resp_1');
      state.emit(delta, false, 'resp_1');
      state.emit(status, true, null);

      expect(sent.map((p) => [p.seq, p.durable, p.turn_id])).toEqual([
        [10, true, 'resp_1'],
        [11, false, 'resp_1'],
        [12, true, null],
      ]);
      expect(state.unacked().map((p) => p.seq)).toEqual([10, 12]);

      state.ack(10);
      expect(state.unacked().map((p) => p.seq)).toEqual([12]);
      state.ack(12);
      expect(state.outbox.size).toBe(0);
      expect(state.outboxBytes).toBe(0);
    });

    it('should fail the running turn instead of growing the outbox past its limit', () => {
      const abort = new AbortController();
      state.current = { turnId: 'resp_1', abort, clientCalls: new Map() };
      for (let i = 0; i < OUTBOX_MAX_EVENTS; i++) {
        state.emit(status, true, 'resp_1');
      }
      expect(abort.signal.aborted).toBe(false);

      state.emit(status, true, 'resp_1');

      expect(abort.signal.reason).toBeInstanceOf(HarnessError);
      expect((abort.signal.reason as HarnessError).code).toBe('outbox_overflow');
      expect(state.outbox.size).toBe(OUTBOX_MAX_EVENTS);
    });

    it('should keep numbering but send nothing once detached', () => {
      state.detach();
      state.emit(status, true, null);

      expect(sent).toEqual([]);
      expect(state.attached).toBe(false);
      expect(state.nextSeq).toBe(11);
    });
  });

  describe('reinit', () => {
    it('should never move the seq back', () => {
      state.emit(status, true, null);
      state.reinit(init({ next_seq: 5 }));
      expect(state.nextSeq).toBe(11);
      state.reinit(init({ next_seq: 40 }));
      expect(state.nextSeq).toBe(40);
    });
  });

  describe('isIdle', () => {
    it('should count a session idle only with no turn, no queue, an empty outbox, and time passed', () => {
      const now = Date.now();
      expect(state.isIdle(now + 1000, 1000)).toBe(true);
      expect(state.isIdle(now + 10, 1000)).toBe(false);

      state.emit(status, true, null);
      expect(state.isIdle(Date.now() + 5000, 1000)).toBe(false);
      state.ack(state.nextSeq - 1);
      expect(state.isIdle(Date.now() + 5000, 1000)).toBe(true);

      state.queue.push({} as never);
      expect(state.isIdle(Date.now() + 5000, 1000)).toBe(false);
      state.queue.splice(0);
      state.current = { turnId: 'resp_2', abort: new AbortController(), clientCalls: new Map() };
      expect(state.isIdle(Date.now() + 5000, 1000)).toBe(false);
    });
  });
});
