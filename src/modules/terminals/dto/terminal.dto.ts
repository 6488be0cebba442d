import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { ListEnvelopeDto, ListQueryDto } from 'src/common/pagination/pagination';
import { ValidateInt, ValidateString } from 'src/common/validation/validation.decorators';
import { TERMINAL_MAX_SIZE, TERMINAL_MIN_SIZE, TerminalInfo } from 'src/protocol/terminal-protocol';

export class ListTerminalsQueryDto extends ListQueryDto {}

/** `POST …/resources/terminals` (spec/api-reference.md §8.3). */
export class CreateTerminalDto {
  @ValidateString({
    maxLength: 64,
    notEmpty: true,
    description: 'A terminal the agent spec declares (its `terminals:` block).',
    example: 'shell',
  })
  terminal: string;

  @ValidateString({
    maxLength: 128,
    notEmpty: true,
    description: 'Caller-chosen key: the same (terminal, session_key) returns the same terminal.',
    example: 'main',
  })
  session_key: string;

  @ValidateString({
    optional: true,
    maxLength: 4096,
    description: "Working directory, relative to the workspace (default: the spec's `cwd`).",
  })
  cwd?: string;

  @ValidateInt({
    optional: true,
    min: TERMINAL_MIN_SIZE,
    max: TERMINAL_MAX_SIZE,
    default: 80,
    description: 'Columns.',
  })
  cols?: number;

  @ValidateInt({
    optional: true,
    min: TERMINAL_MIN_SIZE,
    max: TERMINAL_MAX_SIZE,
    default: 24,
    description: 'Rows.',
  })
  rows?: number;
}

export class TerminalMetadataDto {
  @ApiProperty({ example: 'shell' }) terminal_name: string;
  @ApiProperty({ example: 'main' }) session_key: string;
  @ApiProperty({ description: 'False once its command exited.' }) running: boolean;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Set once it exited.' })
  exit_code: number | null;
  @ApiProperty({ enum: ['pty'] }) terminal_transport: 'pty';
  @ApiProperty({ type: 'integer' }) cols: number;
  @ApiProperty({ type: 'integer' }) rows: number;
  @ApiProperty({ description: 'Absolute working directory on the runner.' }) cwd: string;
  @ApiProperty({ enum: ['bwrap', 'none'] }) sandbox_type: 'bwrap' | 'none';
  @ApiProperty({ type: 'integer', description: 'Unix seconds.' }) created_at: number;
}

/** A terminal as a session resource (upstream `SessionResourceObject`, type `terminal`). */
export class TerminalResourceDto {
  @ApiProperty({ example: 'term_0192f0c1a2b3c4d5e6f708192a3b4c5d' }) id: string;
  @ApiProperty({ enum: ['session.resource'] }) object: 'session.resource';
  @ApiProperty({ enum: ['terminal'] }) type: 'terminal';
  @ApiProperty() session_id: string;
  @ApiProperty({ description: '`<terminal>:<session_key>`', example: 'shell:main' }) name: string;
  @ApiProperty({ type: TerminalMetadataDto }) metadata: TerminalMetadataDto;
  @ApiPropertyOptional({ description: 'The environment it runs in.', example: 'default' })
  environment: string;
}

export class TerminalListResponseDto extends ListEnvelopeDto {
  @ApiProperty({ type: [TerminalResourceDto] }) data: TerminalResourceDto[];
}

export class TerminalDeletedResponseDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['session.resource.deleted'] }) object: 'session.resource.deleted';
  @ApiProperty({ enum: [true] }) deleted: true;
}

export function toTerminalResource(sessionId: string, info: TerminalInfo): TerminalResourceDto {
  return {
    id: info.terminal_id,
    object: 'session.resource',
    type: 'terminal',
    session_id: sessionId,
    name: `${info.terminal}:${info.session_key}`,
    metadata: {
      terminal_name: info.terminal,
      session_key: info.session_key,
      running: info.running,
      exit_code: info.exit_code,
      terminal_transport: 'pty',
      cols: info.cols,
      rows: info.rows,
      cwd: info.cwd,
      sandbox_type: info.sandbox_type,
      created_at: info.created_at,
    },
    environment: 'default',
  };
}
