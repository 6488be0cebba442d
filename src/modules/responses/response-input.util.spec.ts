import { parseResponseInput } from 'src/modules/responses/response-input.util';

describe('parseResponseInput', () => {
  it('should make a string one user message', () => {
    expect(parseResponseInput('hi')).toEqual({
      kind: 'message',
      content: [{ type: 'input_text', text: 'hi' }],
    });
  });

  it('should merge user message items into one message, mapping `text` parts to input_text', () => {
    expect(
      parseResponseInput([
        { role: 'user', content: 'first' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'text', text: 'second' },
            { type: 'input_file', file_id: 'file_1' },
          ],
        },
      ]),
    ).toEqual({
      kind: 'message',
      content: [
        { type: 'input_text', text: 'first' },
        { type: 'input_text', text: 'second' },
        { type: 'input_file', file_id: 'file_1' },
      ],
    });
  });

  it('should read function_call_output items as tool results, JSON-encoding non-string outputs', () => {
    expect(
      parseResponseInput([
        { type: 'function_call_output', call_id: 'call_1', output: 'done' },
        { type: 'function_call_output', call_id: 'call_2', output: { ok: true } },
      ]),
    ).toEqual({
      kind: 'tool_outputs',
      outputs: [
        { call_id: 'call_1', output: 'done' },
        { call_id: 'call_2', output: '{"ok":true}' },
      ],
    });
  });

  it('should name the field in the 422 detail list, as every 422 does', () => {
    expect(() => parseResponseInput([{}])).toThrow(
      expect.objectContaining({
        detail: [
          expect.objectContaining({ loc: ['body', 'input', 0, 'role'], type: 'value_error' }),
        ],
      }),
    );
  });

  it.each([
    [[{ role: 'assistant', content: 'hi' }], /input\[0\]\.role must be 'user'/],
    [[{ role: 'system', content: 'be nice' }], /input\[0\]\.role/],
    [[{ type: 'reasoning', summary: [] }], /input\[0\]\.type 'reasoning' is not supported/],
    [[{ role: 'user', content: [] }], /input\[0\]\.content must be a string or a non-empty list/],
    [[{ role: 'user', content: [{ type: 'audio' }] }], /content\[0\]\.type must be input_text/],
    [[{ type: 'function_call_output', output: 'x' }], /input\[0\]\.call_id/],
    [
      [
        { role: 'user', content: 'hi' },
        { type: 'function_call_output', call_id: 'c', output: 'x' },
      ],
      /mixes messages and function_call_output/,
    ],
  ])('should refuse %j with a 422 naming the problem', (input, message) => {
    expect(() => parseResponseInput(input as Record<string, unknown>[])).toThrow(
      expect.objectContaining({
        code: 'validation_error',
        message: expect.stringMatching(message),
      }),
    );
  });
});
