import { toResponseObject } from 'src/modules/responses/dto/response-response.dto';
import { ResponseEntity } from 'src/modules/responses/response.entity';
import { TurnRecord } from 'src/modules/responses/responses.repository';
import { expectValid } from 'test/contract/upstream-schemas';

const row: ResponseEntity = {
  id: 'resp_1',
  sessionId: 'conv_1',
  ownerId: 'alice',
  model: 'echo',
  previousResponseId: null,
  instructions: null,
  metadata: { k: 'v' },
  reasoning: null,
  background: false,
  createdAt: new Date(1_000_000),
};
const item = (type: string, data: Record<string, unknown>) => ({
  id: `${type}_1`,
  response_id: 'resp_1',
  type: type as never,
  status: 'completed',
  created_at: 1000,
  created_by: null,
  data,
});
const turn = (over: Partial<TurnRecord> = {}): TurnRecord => ({
  end: null,
  items: [],
  usage: null,
  ...over,
});

describe('toResponseObject', () => {
  it('should be in_progress while it is the current turn, queued otherwise', () => {
    expect(toResponseObject(row, turn(), 'resp_1').status).toBe('in_progress');
    expect(toResponseObject(row, turn(), 'resp_0').status).toBe('queued');
    expect(toResponseObject(row, turn(), null).status).toBe('queued');
  });

  it('should take the status from how the turn ended, with output and usage', () => {
    const response = toResponseObject(
      row,
      turn({
        end: { type: 'response.completed', at: new Date(2_000_000) },
        items: [
          item('message', { role: 'user', content: [{ type: 'input_text', text: 'hi' }] }),
          item('message', {
            role: 'assistant',
            content: [{ type: 'output_text', text: 'hi', annotations: [] }],
          }),
        ],
        usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
      }),
      null,
    );
    expectValid('ResponseObject', response);
    expect(response).toMatchObject({
      status: 'completed',
      created_at: 1000,
      completed_at: 2000,
      usage: { total_tokens: 2 },
      conversation: { id: 'conv_1' },
      metadata: { k: 'v' },
      error: null,
    });
    expect(response.output).toHaveLength(1);
    expect(response.output[0]).toMatchObject({ role: 'assistant' });
  });

  it('should report a failure from its error item, and an interrupt as incomplete', () => {
    const failed = toResponseObject(
      row,
      turn({
        end: { type: 'response.failed', at: new Date(2_000_000) },
        items: [item('error', { code: 'runner_disconnected', message: 'gone' })],
      }),
      null,
    );
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'runner_disconnected', message: 'gone' },
      output: [],
    });
    const interrupted = toResponseObject(
      row,
      turn({ end: { type: 'response.incomplete', at: new Date(2_000_000) } }),
      null,
    );
    expect(interrupted).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'user_interrupt' },
    });
  });
});
