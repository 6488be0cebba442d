import { flattenItem, messageText, parseItemData, unflattenItem } from 'src/protocol/items';

describe('items', () => {
  it('should keep only known data fields and leave absent optionals out', () => {
    expect(
      parseItemData('message', {
        role: 'user',
        content: [{ type: 'input_text', text: 'hi' }],
        extra: 1,
      }),
    ).toEqual({
      data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
    });
  });

  it('should name what is wrong with bad data', () => {
    expect(parseItemData('message', { role: 'robot', content: [] })).toEqual({
      error: 'data.role must be one of user, assistant',
    });
    expect(parseItemData('function_call_output', { call_id: 'c' })).toEqual({
      error: "data.output is required for 'function_call_output'",
    });
    expect(
      parseItemData('compaction', { summary: 's', last_item_id: 'x', token_count: 1.5 }),
    ).toMatchObject({
      error: expect.stringContaining('token_count'),
    });
    expect(parseItemData('message', { role: 'user', content: ['text'] })).toMatchObject({
      error: expect.stringContaining('content blocks'),
    });
  });

  it('should flatten and unflatten symmetrically', () => {
    const stored = {
      id: 'fc_1',
      response_id: 'resp_1',
      type: 'function_call' as const,
      status: 'completed',
      created_at: 1,
      created_by: null,
      data: { model: 'm', name: 'shell', arguments: '{}', call_id: 'call_1' },
    };
    const flat = flattenItem(stored);
    expect(flat).toEqual({
      id: 'fc_1',
      response_id: 'resp_1',
      type: 'function_call',
      status: 'completed',
      created_at: 1,
      model: 'm',
      name: 'shell',
      arguments: '{}',
      call_id: 'call_1',
    });
    expect(unflattenItem(flat)).toEqual({ item: stored });
  });

  it('should extract the text of message content blocks', () => {
    expect(
      messageText({
        content: [
          { type: 'input_text', text: 'a' },
          { type: 'input_image', file_id: 'f' },
          { type: 'output_text', text: 'b' },
        ],
      }),
    ).toBe('a\nb');
  });
});
