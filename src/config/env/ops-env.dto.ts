import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

import { blankToUndefined, toBool, toInt } from 'src/config/env/env-coercion.util';
import { LimitsEnvDto } from 'src/config/env/limits-env.dto';

/** Operations: log format, metrics, CORS, rate limiting and the drain on shutdown. */
export class OpsEnvDto extends LimitsEnvDto {
  @IsIn(['auto', 'json', 'pretty'])
  OMNIGENT_LOG_FORMAT: 'auto' | 'json' | 'pretty' = 'auto';

  /**
   * JSON lines written to stdout as they are logged (`true`) or buffered (`false`: up to 4 KiB
   * or 100 ms, flushed at exit; a SIGKILL or a power loss loses what was buffered).
   */
  @Transform(toBool)
  @IsBoolean()
  OMNIGENT_LOG_SYNC = true;

  /** Bearer token that `GET /metrics` requires (secret). Unset: /metrics is public. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  @MaxLength(500)
  OMNIGENT_METRICS_TOKEN?: string;

  /** Origins allowed by CORS (comma-separated, or `*`). Unset: no CORS headers at all. */
  @IsString()
  OMNIGENT_CORS_ORIGINS = '';

  /** Requests per minute and user (streams and runner routes counted apart). Unset: no limit. */
  @Transform(blankToUndefined)
  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  OMNIGENT_RATE_LIMIT_PER_MINUTE?: number;

  /**
   * On SIGTERM, how long `/ready` answers 503 before the server stops accepting requests, so a
   * load balancer takes it out of rotation first.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(120_000)
  OMNIGENT_DRAIN_MS = 0;
}
