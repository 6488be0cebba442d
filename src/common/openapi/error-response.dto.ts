import { ApiProperty } from '@nestjs/swagger';

/** The nested envelope the Python SDK reads (spec/README.md §3). */
export class ErrorEnvelopeDto {
  @ApiProperty({ example: 'not_found' })
  code!: string;

  @ApiProperty({ example: 'Session conv_0194f1c2e3a4b5c6d7e8f90123456789 does not exist' })
  message!: string;
}

/** Every non-422 error body: flat `code`/`message` plus the same pair under `error`. */
export class ErrorResponseDto {
  @ApiProperty({ description: 'Lower snake_case error code.', example: 'not_found' })
  code!: string;

  @ApiProperty({ example: 'Session conv_0194f1c2e3a4b5c6d7e8f90123456789 does not exist' })
  message!: string;

  @ApiProperty({ type: ErrorEnvelopeDto })
  error!: ErrorEnvelopeDto;
}

/** One failed field, in FastAPI's shape. */
export class ValidationDetailDto {
  @ApiProperty({
    description: 'Where the value was: body, query, path or header, then the field path.',
    example: ['body', 'agent_id'],
    items: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
    type: 'array',
  })
  loc!: (string | number)[];

  @ApiProperty({ example: 'Field required' })
  msg!: string;

  @ApiProperty({ example: 'missing' })
  type!: string;
}

/** A 422: FastAPI's `detail` list plus the usual `code`/`message`/`error`. */
export class ValidationErrorResponseDto extends ErrorResponseDto {
  @ApiProperty({ type: [ValidationDetailDto] })
  detail!: ValidationDetailDto[];
}
