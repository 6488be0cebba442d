import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsString, Matches, Min, ValidateIf } from 'class-validator';

import { blankToUndefined, toBool, toInt } from 'src/config/env/env-coercion.util';
import { SessionsEnvDto } from 'src/config/env/sessions-env.dto';

/** The local runner, runner liveness and grace, event ingest, the read cache and the sweeper. */
export class RunnersEnvDto extends SessionsEnvDto {
  /** Start a local runner with the server: auto (on in none mode), 1, or 0. */
  @IsIn(['auto', '0', '1'])
  OMNIGENT_LOCAL_RUNNER: 'auto' | '0' | '1' = 'auto';

  /** In jwt mode with OMNIGENT_LOCAL_RUNNER=1: the user who owns the local runner. */
  @Transform(blankToUndefined)
  @ValidateIf(
    (env: RunnersEnvDto) => env.OMNIGENT_AUTH === 'jwt' && env.OMNIGENT_LOCAL_RUNNER === '1',
  )
  @IsString({
    message: 'OMNIGENT_LOCAL_RUNNER_USER is required when OMNIGENT_LOCAL_RUNNER=1 in jwt mode',
  })
  OMNIGENT_LOCAL_RUNNER_USER?: string;

  /**
   * Extra environment variable names the local runner receives (comma-separated), e.g. keys an
   * agent spec references as `${NAME}`. Server settings (OMNIGENT_*, DATABASE_URL, REDIS_URL)
   * are never passed.
   */
  @IsString()
  OMNIGENT_LOCAL_RUNNER_ENV = '';

  /**
   * Paths the local runner's tools must never see besides the data directory (comma-separated
   * absolute paths), e.g. an env file under /etc holding the server's secrets: the sandbox shows
   * /etc read-only, so list such files here to mask them.
   */
  @IsString()
  @Matches(/^(\/[^,]*(,\s*\/[^,]*)*)?$/, {
    message:
      'OMNIGENT_LOCAL_RUNNER_PROTECTED_PATHS must be a comma-separated list of absolute paths',
  })
  OMNIGENT_LOCAL_RUNNER_PROTECTED_PATHS = '';

  /** A runner that drops mid-turn has this long to come back before its turn fails. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  OMNIGENT_RUNNER_GRACE_MS = 10_000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  OMNIGENT_RUNNER_HEARTBEAT_MS = 15_000;

  /** Snapshot/items answers kept in memory, keyed by version (MiB; 0: off). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  OMNIGENT_READ_CACHE_MB = 64;

  /** Runner events commit without waiting for the WAL flush; their acks wait for it (issue 12). */
  @Transform(toBool)
  @IsBoolean()
  OMNIGENT_INGEST_ASYNC_COMMIT = false;

  /** A connected runner not heard from for this long counts as offline. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  OMNIGENT_RUNNER_LIVENESS_TTL_MS = 60_000;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  OMNIGENT_SWEEPER_INTERVAL_MS = 5_000;
}
