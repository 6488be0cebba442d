import { ApiProperty } from '@nestjs/swagger';

import { toUnixSeconds } from 'src/database/transformers';
import { flattenItem, FlatItem } from 'src/protocol/items';
import type { ErrorDetail } from 'src/protocol/stream-events';
import type { ResponseEntity } from 'src/modules/responses/response.entity';
import type { TurnRecord } from 'src/modules/responses/responses.repository';

export const RESPONSE_STATUSES = [
  'queued',
  'in_progress',
  'completed',
  'failed',
  'incomplete',
  'cancelled',
] as const;
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set([
  'completed',
  'failed',
  'incomplete',
  'cancelled',
]);

class ConversationRefDto {
  @ApiProperty({ example: 'conv_0194f1c2e3a4b5c6d7e8f90123456789' }) id: string;
}

class ResponseErrorDto {
  @ApiProperty({ example: 'runner_disconnected' }) code: string;
  @ApiProperty() message: string;
}

class IncompleteDetailsDto {
  @ApiProperty({ example: 'user_interrupt' }) reason: string;
}

/** upstream's ResponseObject (every field present, nulls included), plus OpenAI's `metadata`. */
export class ResponseObjectDto {
  @ApiProperty({ example: 'resp_0194f1c2e3a4b5c6d7e8f90123456789' }) id: string;
  @ApiProperty({ example: 'response' }) object: 'response';
  @ApiProperty({ enum: RESPONSE_STATUSES, example: 'completed' }) status: ResponseStatus;
  @ApiProperty({ example: 'echo', description: 'The agent name.' }) model: string;
  @ApiProperty({ example: 1796228400 }) created_at: number;
  @ApiProperty({ type: Number, nullable: true, example: 1796228401 }) completed_at: number | null;
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'Items the turn produced (flattened shape): messages, function calls, outputs.',
    example: [
      {
        id: 'msg_0194f1c2e3a4b5c6d7e8f90123456789',
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Hello!', annotations: [] }],
      },
    ],
  })
  output: FlatItem[];
  @ApiProperty({ example: false }) background: boolean;
  @ApiProperty({ example: true }) store: boolean;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'Token usage of the turn (null while it runs).',
    example: { input_tokens: 9, output_tokens: 3, total_tokens: 12 },
  })
  usage: Record<string, unknown> | null;
  @ApiProperty({ type: String, nullable: true }) previous_response_id: string | null;
  @ApiProperty({ type: ConversationRefDto, description: 'The session that holds the chain.' })
  conversation: ConversationRefDto;
  @ApiProperty({ type: String, nullable: true }) instructions: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, nullable: true })
  reasoning: Record<string, string> | null;
  @ApiProperty({ type: ResponseErrorDto, nullable: true }) error: ErrorDetail | null;
  @ApiProperty({ type: IncompleteDetailsDto, nullable: true }) incomplete_details: {
    reason: string;
  } | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, nullable: true })
  metadata: Record<string, string> | null;
}

export class ResponseDeletedDto {
  @ApiProperty({ example: 'resp_0194f1c2e3a4b5c6d7e8f90123456789' }) id: string;
  @ApiProperty({ example: 'response' }) object: 'response';
  @ApiProperty({ example: true }) deleted: true;
}

/**
 * The response object of a turn: its status from how the turn ended (or, while it runs, whether
 * it is the session's current turn), its output items (the user's input and error items left
 * out), and what the request said.
 */
export function toResponseObject(
  row: ResponseEntity,
  turn: TurnRecord,
  currentTurnId: string | null,
): ResponseObjectDto {
  const status = statusOf(row.id, turn, currentTurnId);
  const errorItem = turn.items.find((item) => item.type === 'error');
  return {
    id: row.id,
    object: 'response',
    status,
    model: row.model,
    created_at: toUnixSeconds(row.createdAt),
    completed_at: turn.end ? toUnixSeconds(turn.end.at) : null,
    output: turn.items
      .filter((item) => item.type !== 'error' && !isUserMessage(item.type, item.data))
      .map(flattenItem),
    background: row.background,
    store: true,
    usage: turn.usage,
    previous_response_id: row.previousResponseId,
    conversation: { id: row.sessionId },
    instructions: row.instructions,
    reasoning: row.reasoning,
    error:
      status === 'failed'
        ? {
            code: stringOr(errorItem?.data.code, 'internal_error'),
            message: stringOr(errorItem?.data.message, 'The response failed'),
          }
        : null,
    incomplete_details: status === 'incomplete' ? { reason: 'user_interrupt' } : null,
    metadata: row.metadata,
  };
}

function statusOf(id: string, turn: TurnRecord, currentTurnId: string | null): ResponseStatus {
  if (turn.end) {
    const ended = turn.end.type.replace(/^response\./, '');
    return TERMINAL_STATUSES.has(ended) ? (ended as ResponseStatus) : 'completed';
  }
  return currentTurnId === id ? 'in_progress' : 'queued';
}

function isUserMessage(type: string, data: Record<string, unknown>): boolean {
  return type === 'message' && data.role === 'user';
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value.length > 0 ? value : fallback;
}
