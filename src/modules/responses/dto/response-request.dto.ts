import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsObject,
  ValidateBy,
  ValidateNested,
} from 'class-validator';

import { AllowUnknownFields } from 'src/common/validation/app-validation.pipe';
import {
  Optional,
  ValidateBoolean,
  ValidateString,
  ValidateStringMap,
} from 'src/common/validation/validation.decorators';

/** Most items one request may carry in `input`. */
export const MAX_INPUT_ITEMS = 100;

/** A user text, or input items (messages and `function_call_output`s). */
export type ResponseInput = string | Record<string, unknown>[];

function IsResponseInput(): PropertyDecorator {
  return ValidateBy({
    name: 'isResponseInput',
    validator: {
      validate: (value: unknown) =>
        (typeof value === 'string' && value.trim().length > 0) ||
        (Array.isArray(value) &&
          value.length > 0 &&
          value.length <= MAX_INPUT_ITEMS &&
          value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))),
      defaultMessage: () =>
        `$property must be a non-empty string or a list of 1 to ${MAX_INPUT_ITEMS} input items (objects)`,
    },
  });
}

/**
 * `POST /v1/responses` (what upstream's Python client's `ResponsesNamespace.create/stream` sends).
 * Unknown OpenAI fields (`store`, `temperature`, …) are accepted and ignored.
 */
@AllowUnknownFields()
export class CreateResponseDto {
  @ValidateString({
    notEmpty: true,
    maxLength: 200,
    description: 'The agent to run: its name (as in GET /v1/agents) or its id.',
    example: 'echo',
  })
  model: string;

  @ApiProperty({
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'object', additionalProperties: true } },
    ],
    description:
      'A user text, or input items: messages `{role: "user", content}` (content a string or ' +
      '`input_text` / `input_image` / `input_file` parts) or, continuing a response that waits ' +
      'on client tools, `{type: "function_call_output", call_id, output}` items.',
    example: 'Hello!',
  })
  @IsResponseInput()
  input: ResponseInput;

  @ValidateBoolean({
    optional: true,
    nullable: true,
    description: 'Answer with Server-Sent Events (`response.*`) instead of the final object.',
  })
  stream?: boolean | null;

  @ValidateBoolean({
    optional: true,
    nullable: true,
    description: 'Answer at once (status queued or in_progress); poll GET /v1/responses/{id}.',
  })
  background?: boolean | null;

  @ValidateString({
    optional: true,
    nullable: true,
    maxLength: 100,
    description:
      'Continue the chain of this response (its session). A response that is not the latest of ' +
      'its chain forks the chain there.',
  })
  previous_response_id?: string | null;

  @ValidateString({
    optional: true,
    nullable: true,
    maxLength: 100_000,
    description: 'Recorded on the response; the agent keeps its own instructions (see docs).',
  })
  instructions?: string | null;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    nullable: true,
    description: 'Client-side tools for this turn: `{type: "function", name, parameters}`.',
  })
  @Optional({ nullable: true })
  @IsArray()
  @IsObject({ each: true })
  tools?: Record<string, unknown>[] | null;

  @ValidateStringMap({
    optional: true,
    nullable: true,
    maxEntries: 16,
    description: 'Up to 16 string values, returned with the response.',
  })
  metadata?: Record<string, string> | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    nullable: true,
    example: { effort: 'low' },
    description: "Reasoning options; `effort` sets a new chain's reasoning effort.",
  })
  @Optional({ nullable: true })
  @IsObject()
  reasoning?: Record<string, unknown> | null;

  @ValidateString({
    optional: true,
    nullable: true,
    maxLength: 200,
    description: "The LLM model for this turn instead of the agent's.",
  })
  model_override?: string | null;
}

/** `GET /v1/responses/{id}`. */
export class GetResponseQueryDto {
  @ValidateBoolean({
    optional: true,
    description:
      'Stream the response as Server-Sent Events: its live `response.*` events until it ends ' +
      '(or, when it already ended, its terminal event).',
  })
  stream?: boolean;
}

export class ToolResultDto {
  @ValidateString({ notEmpty: true, maxLength: 200, example: 'call_0123456789abcdef' })
  call_id: string;

  @ValidateString({ maxLength: 1_000_000, example: '{"temperature": 21}' })
  output: string;
}

/** `PATCH /v1/responses/{id}`: results of the response's client-side tool calls. */
@AllowUnknownFields()
export class UpdateResponseDto {
  @ApiProperty({ type: [ToolResultDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_INPUT_ITEMS)
  @ValidateNested({ each: true })
  @Type(() => ToolResultDto)
  tool_results: ToolResultDto[];
}
