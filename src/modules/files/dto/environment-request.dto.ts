import { ListQueryDto } from 'src/common/pagination/pagination';
import {
  ValidateBoolean,
  ValidateEnum,
  ValidateInt,
  ValidateString,
} from 'src/common/validation/validation.decorators';

export class EnvListQueryDto extends ListQueryDto {
  @ValidateString({
    optional: true,
    maxLength: 20,
    description: '`workspace` (default). Host paths (`host`) are not reachable through this API.',
  })
  base?: string;
}

export class SearchQueryDto {
  @ValidateString({ maxLength: 500, description: 'Matched against entry names.', example: 'index' })
  q: string;

  @ValidateString({ optional: true, maxLength: 2000, description: 'Comma-separated globs.' })
  include?: string;

  @ValidateString({ optional: true, maxLength: 2000, description: 'Comma-separated globs.' })
  exclude?: string;

  @ValidateInt({ optional: true, min: 1, max: 500, default: 500 })
  limit?: number;

  @ValidateString({ optional: true, maxLength: 20 })
  base?: string;
}

export class WriteFileDto {
  @ValidateString({ maxLength: 10 * 1024 * 1024, description: 'The new content.' })
  content: string;

  @ValidateEnum(['utf-8', 'utf8', 'base64'] as const, 'FileEncoding', {
    optional: true,
    default: 'utf-8',
  })
  encoding?: 'utf-8' | 'utf8' | 'base64';

  @ValidateBoolean({ optional: true, description: 'Create missing parent folders (default true).' })
  create_parents?: boolean;
}

export class EditFileDto {
  @ValidateString({ maxLength: 1024 * 1024 }) old_text: string;
  @ValidateString({ maxLength: 1024 * 1024 }) new_text: string;
  @ValidateBoolean({ optional: true }) replace_all?: boolean;
}

export class ShellDto {
  @ValidateString({ maxLength: 100_000, notEmpty: true }) command: string;

  @ValidateInt({ optional: true, min: 1, max: 600, description: 'Seconds (default 30).' })
  timeout?: number;
}
