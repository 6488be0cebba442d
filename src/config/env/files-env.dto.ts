import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Min,
  ValidateIf,
} from 'class-validator';

import { blankToUndefined, toBool, toInt } from 'src/config/env/env-coercion.util';
import { HttpEnvDto } from 'src/config/env/http-env.dto';

/** Agent bundle uploads and session files: per-type caps, the blob store (local or S3), copies. */
export class FilesEnvDto extends HttpEnvDto {
  /** Agent bundle upload limit in bytes (compressed). */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  OMNIGENT_BUNDLE_MAX_BYTES = 10 * 1024 * 1024;

  /** Session file uploads: cap for images (image/*), in bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_FILES_IMAGE_MAX_BYTES = 5 * 1024 * 1024;

  /** Session file uploads: cap for PDFs, in bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_FILES_PDF_MAX_BYTES = 20 * 1024 * 1024;

  /** Session file uploads: cap for text, code and JSON, in bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_FILES_TEXT_MAX_BYTES = 10 * 1024 * 1024;

  /** Session file uploads: absolute cap whatever the type, in bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_FILES_MAX_BYTES = 25 * 1024 * 1024;

  /** Where session file bytes live: `local` (`<data dir>/files`) or `s3` (a bucket). */
  @IsIn(['local', 's3'])
  OMNIGENT_FILES_STORAGE: 'local' | 's3' = 'local';

  /** With OMNIGENT_FILES_STORAGE=s3: the bucket (it must exist). */
  @Transform(blankToUndefined)
  @ValidateIf((env: FilesEnvDto) => env.OMNIGENT_FILES_STORAGE === 's3')
  @IsString({ message: 'OMNIGENT_FILES_S3_BUCKET is required when OMNIGENT_FILES_STORAGE=s3' })
  OMNIGENT_FILES_S3_BUCKET?: string;

  /** Key prefix inside the bucket (e.g. `omnigent/`). */
  @IsString()
  OMNIGENT_FILES_S3_PREFIX = '';

  /** Endpoint of an S3-compatible store (MinIO, R2, …); unset: AWS. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  OMNIGENT_FILES_S3_ENDPOINT?: string;

  @IsString()
  OMNIGENT_FILES_S3_REGION = 'us-east-1';

  /** Path-style URLs (`<endpoint>/<bucket>/<key>`), as most S3-compatible stores want. */
  @Transform(toBool)
  @IsBoolean()
  OMNIGENT_FILES_S3_FORCE_PATH_STYLE = false;

  /** `files:copy`: most files per request. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_FILES_COPY_MAX_FILES = 20;

  /** `files:copy`: most bytes per request. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_FILES_COPY_MAX_BYTES = 256 * 1024 * 1024;
}
