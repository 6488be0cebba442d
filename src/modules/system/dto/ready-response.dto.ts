import { ApiProperty } from '@nestjs/swagger';

export class ReadyResponseDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status!: 'ok';

  /** One entry per dependency checked. */
  @ApiProperty({
    type: 'object',
    additionalProperties: {
      type: 'object',
      properties: { status: { type: 'string', enum: ['up', 'down'] } },
    },
    example: { database: { status: 'up' } },
  })
  details!: Record<string, { status: 'up' | 'down'; [key: string]: unknown }>;
}
