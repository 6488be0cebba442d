import type { ResponseInput } from 'src/modules/responses/dto/response-request.dto';
import { ResponseError } from 'src/modules/responses/responses.errors';

/** What a `POST /v1/responses` input asks for: one user message, or client tool results. */
export type ParsedInput =
  | { kind: 'message'; content: Record<string, unknown>[] }
  | { kind: 'tool_outputs'; outputs: { call_id: string; output: string }[] };

const CONTENT_PART_TYPES = new Set(['input_text', 'input_image', 'input_file']);

/**
 * Maps `input` onto the session's shapes: a string, or message items (`role: "user"`, content a
 * string or parts), become one user message; `function_call_output` items become tool results.
 * Anything else is a 422 naming the item.
 */
export function parseResponseInput(input: ResponseInput): ParsedInput {
  if (typeof input === 'string') {
    return { kind: 'message', content: [{ type: 'input_text', text: input }] };
  }
  const content: Record<string, unknown>[] = [];
  const outputs: { call_id: string; output: string }[] = [];
  input.forEach((item, index) => {
    const where = `input[${index}]`;
    if (item.type === 'function_call_output') {
      if (typeof item.call_id !== 'string' || item.call_id.length === 0) {
        throw invalid(`${where}.call_id must be a non-empty string`, [index, 'call_id']);
      }
      const output = typeof item.output === 'string' ? item.output : JSON.stringify(item.output);
      outputs.push({ call_id: item.call_id, output: output ?? '' });
      return;
    }
    if (item.type !== undefined && item.type !== 'message') {
      throw invalid(
        `${where}.type '${String(item.type)}' is not supported: use messages or function_call_output items`,
        [index, 'type'],
      );
    }
    if (item.role !== 'user') {
      throw invalid(
        `${where}.role must be 'user' (the agent's own instructions apply; see docs/RESPONSES.md)`,
        [index, 'role'],
      );
    }
    content.push(...contentParts(item.content, where, index));
  });
  if (outputs.length > 0 && content.length > 0) {
    throw invalid('input mixes messages and function_call_output items: send them separately');
  }
  return outputs.length > 0 ? { kind: 'tool_outputs', outputs } : { kind: 'message', content };
}

function contentParts(content: unknown, where: string, item: number): Record<string, unknown>[] {
  if (typeof content === 'string') {
    return [{ type: 'input_text', text: content }];
  }
  if (!Array.isArray(content) || content.length === 0) {
    throw invalid(`${where}.content must be a string or a non-empty list of content parts`, [
      item,
      'content',
    ]);
  }
  return content.map((part: unknown, index) => {
    const p = (typeof part === 'object' && part !== null ? part : {}) as Record<string, unknown>;
    const type = p.type === 'text' ? 'input_text' : p.type;
    if (typeof type !== 'string' || !CONTENT_PART_TYPES.has(type)) {
      throw invalid(
        `${where}.content[${index}].type must be input_text, input_image or input_file`,
        [item, 'content', index, 'type'],
      );
    }
    return { ...p, type };
  });
}

const invalid = (message: string, loc: (string | number)[] = []) =>
  ResponseError.invalidInput(message, ['input', ...loc]);
