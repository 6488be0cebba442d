import { Type } from 'class-transformer';
import { ValidateNested } from 'class-validator';
import { ApiPropertyOptional } from '@nestjs/swagger';

import {
  Optional,
  ValidateBoolean,
  ValidateInt,
  ValidateString,
} from 'src/common/validation/validation.decorators';

/** `GET /v1/hosts/{id}/filesystem[/{path}]`: entry paths as cursors (spec/api-reference.md §6). */
export class HostFilesystemQueryDto {
  @ValidateInt({ optional: true, min: 1, max: 1000, default: 20, description: 'Page size.' })
  limit?: number;

  @ValidateString({ optional: true, maxLength: 4096, description: 'Entries after this path.' })
  after?: string;

  @ValidateString({ optional: true, maxLength: 4096, description: 'Entries before this path.' })
  before?: string;
}

export class CreateDirectoryDto {
  @ValidateString({
    maxLength: 4096,
    description: 'Absolute or `~`-prefixed path of the directory to create.',
    example: '~/projects/new',
  })
  path: string;
}

export class WorktreesQueryDto {
  @ValidateString({
    maxLength: 4096,
    description: 'A path inside the git repository.',
    example: '~/projects/app',
  })
  path: string;
}

export class LaunchGitOptionsDto {
  @ValidateString({ maxLength: 250 }) branch_name: string;
  @ValidateString({ optional: true, nullable: true, maxLength: 250 }) base_branch?: string | null;
  @ValidateBoolean({ optional: true }) existing_worktree?: boolean;
}

/** `POST /v1/hosts/{id}/runners` (upstream's `LaunchRunnerRequest`). */
export class LaunchRunnerDto {
  @ValidateString({ maxLength: 200, description: 'The session to run.' })
  session_id: string;

  @ValidateString({ maxLength: 4096, description: 'Absolute workspace path on the host.' })
  workspace: string;

  @ApiPropertyOptional({ type: LaunchGitOptionsDto, nullable: true })
  @Optional({ nullable: true })
  @ValidateNested()
  @Type(() => LaunchGitOptionsDto)
  git?: LaunchGitOptionsDto | null;
}
