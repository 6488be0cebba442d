import { EXAMPLE_IDS, EXAMPLE_TIME } from 'src/common/openapi/examples';

/** A create the built-in echo agent runs as sent (test/e2e/openapi-examples.e2e-spec.ts sends it). */
export const CREATE_RESPONSE_EXAMPLE = { model: 'echo', input: 'Hello!' };

export const UPDATE_RESPONSE_EXAMPLE = {
  tool_results: [{ call_id: 'call_0123456789abcdef', output: '{"temperature": 21}' }],
};

export const RESPONSE_EXAMPLE = {
  id: EXAMPLE_IDS.response,
  object: 'response',
  status: 'completed',
  model: 'echo',
  created_at: EXAMPLE_TIME,
  completed_at: EXAMPLE_TIME + 1,
  output: [
    {
      id: EXAMPLE_IDS.item,
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Hello!', annotations: [] }],
    },
  ],
  background: false,
  store: true,
  usage: { input_tokens: 9, output_tokens: 3, total_tokens: 12 },
  previous_response_id: null,
  conversation: { id: EXAMPLE_IDS.session },
  instructions: null,
  reasoning: null,
  error: null,
  incomplete_details: null,
  metadata: null,
};

export const RESPONSE_DELETED_EXAMPLE = {
  id: EXAMPLE_IDS.response,
  object: 'response',
  deleted: true,
};
