import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, Matches, Max, Min, ValidateBy } from 'class-validator';

import { AuthEnvDto } from 'src/config/env/auth-env.dto';
import { blankToUndefined, toBool, toInt } from 'src/config/env/env-coercion.util';

/** The event bus between replicas, the log level and how HTTP requests are parsed and served. */
export class HttpEnvDto extends AuthEnvDto {
  /** Redis for the multi-replica event bus: when set (and OMNIGENT_BUS is auto), pub/sub there. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL?: string;

  /**
   * The event bus between replicas: `auto` is Redis when REDIS_URL is set, else PostgreSQL
   * LISTEN/NOTIFY; `memory` serves one process only.
   */
  @IsIn(['auto', 'memory', 'postgres', 'redis'])
  @ValidateBy({
    name: 'redisNeedsUrl',
    validator: {
      validate: (value: unknown, args) =>
        value !== 'redis' || Boolean((args?.object as HttpEnvDto).REDIS_URL),
      defaultMessage: () => 'OMNIGENT_BUS=redis needs REDIS_URL',
    },
  })
  OMNIGENT_BUS: 'auto' | 'memory' | 'postgres' | 'redis' = 'auto';

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  OMNIGENT_LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  /** JSON body limit in bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  OMNIGENT_BODY_LIMIT = 1024 * 1024;

  /** Deepest nesting of objects and arrays accepted in a JSON body (422 `json_invalid` beyond). */
  @Transform(toInt)
  @IsInt()
  @Min(8)
  @Max(512)
  OMNIGENT_JSON_MAX_DEPTH = 64;

  /**
   * The fast lane for `GET /v1/sessions`, `/v1/sessions/{id}` and `/v1/sessions/{id}/items`, and
   * `POST /v1/sessions/{id}/events` without an Idempotency-Key: the same answers without the
   * Express/Nest pipeline (issue 12). `false` sends them through Nest.
   */
  @Transform(toBool)
  @IsBoolean()
  OMNIGENT_HTTP_FAST_READS = true;
}
