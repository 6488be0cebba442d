import { Transform } from 'class-transformer';
import { IsInt, Min } from 'class-validator';

import { toInt } from 'src/config/env/env-coercion.util';
import { RunnersEnvDto } from 'src/config/env/runners-env.dto';

/** Per-user quotas, host call timeouts and the limits of one runner channel. */
export class LimitsEnvDto extends RunnersEnvDto {
  /** Sessions one user may own (sub-agent sessions and forks included); 429 beyond. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_QUOTA_SESSIONS_PER_USER = 100_000;

  /** Items a session may hold before new messages are refused (429). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_QUOTA_ITEMS_PER_SESSION = 100_000;

  /** Runners one user may have connected at once; the next channel is refused (429). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_QUOTA_RUNNERS_PER_USER = 50;

  /** Open session streams (SSE) one user may hold on one server process (429 beyond). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_QUOTA_STREAMS_PER_USER = 20_000;

  /** How long a host may take to answer `runner.launch` (then 504 and the binding is rolled back). */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  OMNIGENT_HOST_LAUNCH_TIMEOUT_MS = 30_000;

  /** How long a host may take to answer a filesystem or worktree call (then 504). */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  OMNIGENT_HOST_RPC_TIMEOUT_MS = 5_000;

  /** Largest runner channel frame, in bytes (larger: the connection closes with 1009). */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  OMNIGENT_RUNNER_MAX_FRAME_BYTES = 16 * 1024 * 1024;

  /** Most JSON-RPC messages in one batch frame of a runner (more: the frame is refused). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_RUNNER_MAX_BATCH = 100;

  /** Inbound messages per second one runner connection may sustain (2 s of burst); past it: close 4006. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_RUNNER_MAX_MESSAGES_PER_SECOND = 20_000;

  /** Requests of one runner connection waiting or running at once (more: a JSON-RPC error). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_RUNNER_MAX_PENDING_REQUESTS = 64;
}
