/**
 * Request bodies and runner events shared by the benches and the tests that check the same
 * paths (test/bench/bench-smoke.bench-spec.ts through bench/read-ratios.ts,
 * test/e2e/runner-flood.e2e-spec.ts).
 */
import { IdPrefix, newId } from 'src/common/ids/ids';
import type { SessionEventParams } from 'src/protocol/runner-protocol';

/** `n` message items of ~300 bytes each, alternating user and assistant (100: ~30 KB of snapshot). */
export function history(n: number): Record<string, unknown>[] {
  const filler = 'lorem ipsum dolor sit amet '.repeat(3);
  return Array.from({ length: n }, (_, i) => ({
    type: 'message',
    data:
      i % 2 === 0
        ? { role: 'user', content: [{ type: 'input_text', text: `question ${i}: ${filler}` }] }
        : {
            role: 'assistant',
            content: [{ type: 'output_text', text: `answer ${i}: ${filler}`, annotations: [] }],
          },
  }));
}

/**
 * A durable `session.event` carrying one completed assistant message: one stored item and one
 * logged event, the most work an event makes the server do.
 */
export function durableItemEvent(sessionId: string, seq: number, text: string): SessionEventParams {
  return {
    session_id: sessionId,
    seq,
    durable: true,
    event: {
      type: 'response.output_item.done',
      item: {
        id: newId(IdPrefix.Message),
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text }],
      },
    },
  };
}
