import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { RunnerConnectionEntity } from 'src/modules/runners/runner-connection.entity';

export class RunnerSummaryDto {
  @ApiProperty({ example: 'runner_0194f1c2e3a4b5c6d7e8f90123456789' }) runner_id: string;
  @ApiProperty() online: boolean;
  @ApiProperty({ type: [String], example: ['echo', 'openai'] }) harnesses: string[];
}

export class RunnerListResponseDto {
  @ApiProperty({ type: [RunnerSummaryDto] }) data: RunnerSummaryDto[];
}

export class RunnerStatusResponseDto {
  @ApiProperty() runner_id: string;
  @ApiProperty() online: boolean;
  @ApiPropertyOptional({ description: 'Why the runner exited, when its host reported it.' })
  error?: string;
}

export class RunnerTokenResponseDto {
  @ApiProperty({ description: 'A 30-minute bearer for the runner channel.' }) token: string;
  @ApiProperty({ description: 'Unix seconds.' }) expires_at: number;
}

export function toRunnerSummary(row: RunnerConnectionEntity): RunnerSummaryDto {
  const harnesses = (row.hello as { capabilities?: { harnesses?: unknown } } | null)?.capabilities
    ?.harnesses;
  return {
    runner_id: row.runnerId,
    online: true,
    harnesses: Array.isArray(harnesses)
      ? harnesses.filter((h): h is string => typeof h === 'string')
      : [],
  };
}
