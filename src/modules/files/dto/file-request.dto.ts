import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, MaxLength } from 'class-validator';

import { ListQueryDto } from 'src/common/pagination/pagination';
import { ValidateString } from 'src/common/validation/validation.decorators';

export class ListFilesQueryDto extends ListQueryDto {}

/** The multipart body of an upload (documentation only: the interceptor reads it). */
export class UploadFileDto {
  @ApiProperty({ type: 'string', format: 'binary', description: 'The file.' })
  file: unknown;
}

export class CopyFilesDto {
  @ValidateString({
    maxLength: 200,
    notEmpty: true,
    description: 'The session that owns the files: a strict ancestor of this one.',
  })
  source_session_id: string;

  /** The count limit and duplicates are checked by the service (400, as upstream answers). */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  @ApiProperty({ type: [String], minItems: 1, uniqueItems: true })
  file_ids: string[];
}
