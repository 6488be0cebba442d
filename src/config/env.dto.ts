import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') {
    return value;
  }
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) {
    return true;
  }
  if (['0', 'false', 'no', 'off'].includes(v)) {
    return false;
  }
  return value;
};
const blankToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * Every environment variable the server reads, with its default. Documented in README.md
 * ("Configuration"); keep the two in step.
 */
export class EnvDto {
  /** Interface to bind. Loopback by default; `none` auth refuses anything else unless allowed. */
  @IsString()
  OMNIGENT_HOST = '127.0.0.1';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  OMNIGENT_PORT = 6767;

  /** PostgreSQL connection string. Unset: embedded PostgreSQL, started under the data dir. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  /** Where local data lives: the embedded database, runner workspaces. Default ~/.omnigent. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  OMNIGENT_DATA_DIR?: string;

  /** Run pending migrations at start-up. */
  @Transform(toBool)
  @IsBoolean()
  OMNIGENT_DB_MIGRATE = true;

  /** Connection pool size (the embedded database uses the same pool). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  OMNIGENT_DB_POOL_SIZE = 10;

  @IsIn(['none', 'jwt'])
  OMNIGENT_AUTH: 'none' | 'jwt' = 'none';

  /** Lets `none` auth bind a non-loopback address. Anyone who can reach it is the admin. */
  @Transform(toBool)
  @IsBoolean()
  OMNIGENT_ALLOW_REMOTE_NOAUTH = false;

  /**
   * HS256 secret (secret). Required in jwt mode unless OMNIGENT_JWKS_URL is set; whenever it is
   * set it must be at least 32 characters, since it signs tokens too.
   */
  @Transform(blankToUndefined)
  @ValidateBy({
    name: 'jwtSecret',
    validator: {
      validate: (value: unknown, args) => {
        const env = args?.object as EnvDto;
        if (value === undefined) {
          return !(env.OMNIGENT_AUTH === 'jwt' && !env.OMNIGENT_JWKS_URL);
        }
        return typeof value === 'string' && value.length >= 32;
      },
      defaultMessage: (args) =>
        args?.value === undefined
          ? 'OMNIGENT_JWT_SECRET is required when OMNIGENT_AUTH=jwt and no JWKS URL is set'
          : 'OMNIGENT_JWT_SECRET must be at least 32 characters',
    },
  })
  OMNIGENT_JWT_SECRET?: string;

  /** JWKS endpoint for RS256/ES256 tokens from an identity provider. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['https', 'http'], require_protocol: true })
  OMNIGENT_JWKS_URL?: string;

  /** Algorithms accepted from the JWKS (comma-separated subset of RS256, PS256, ES256). */
  @Matches(/^(RS256|PS256|ES256)(,(RS256|PS256|ES256))*$/, {
    message: 'OMNIGENT_JWT_ALGORITHMS must be a comma-separated subset of RS256,PS256,ES256',
  })
  OMNIGENT_JWT_ALGORITHMS = 'RS256,ES256';

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  OMNIGENT_JWT_ISSUER?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  OMNIGENT_JWT_AUDIENCE?: string;

  /** Allowed clock skew for exp/nbf, in seconds (at most 60). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60)
  OMNIGENT_JWT_CLOCK_SKEW_S = 30;

  /** Claim that marks an admin (dotted path, e.g. realm_access.roles); holds ADMIN_VALUE or true. */
  @IsString()
  @MaxLength(200)
  OMNIGENT_ADMIN_CLAIM = 'roles';

  @IsString()
  OMNIGENT_ADMIN_VALUE = 'admin';

  /** Comma-separated user ids that are always admins. */
  @IsString()
  OMNIGENT_ADMINS = '';

  /** Extra Host names accepted in `none` mode besides localhost / 127.0.0.1 / [::1]. */
  @IsString()
  OMNIGENT_ALLOWED_HOSTS = '';

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
        value !== 'redis' || Boolean((args?.object as EnvDto).REDIS_URL),
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
   * The fast lane for `GET /v1/sessions`, `/v1/sessions/{id}` and `/v1/sessions/{id}/items`: the
   * same answers without the Express/Nest pipeline (issue 12). `false` sends them through Nest.
   */
  @Transform(toBool)
  @IsBoolean()
  OMNIGENT_HTTP_FAST_READS = true;

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
  @ValidateIf((env: EnvDto) => env.OMNIGENT_FILES_STORAGE === 's3')
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

  @Transform(toInt)
  @IsInt()
  @Min(100)
  OMNIGENT_SSE_HEARTBEAT_MS = 15_000;

  /**
   * How long a viewer who closed their last stream of a session tree stays in its presence list
   * (absorbs reconnects and idle flips, which reconnect).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  OMNIGENT_PRESENCE_GRACE_MS = 5000;

  /** Characters of events queued for a client that stops reading before it is dropped. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  OMNIGENT_SSE_MAX_PENDING = 4 * 1024 * 1024;

  /**
   * How long `POST /v1/responses` without `stream` or `background` waits for the turn to end
   * before it answers 504 `timeout` (the turn goes on; poll `GET /v1/responses/{id}`).
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  OMNIGENT_RESPONSES_TIMEOUT_MS = 300_000;

  /** Seconds a policy approval (elicitation) waits for a human before it is denied. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OMNIGENT_POLICY_ASK_TIMEOUT_S = 86_400;

  /** Model of the policy judge (LLM-judged handlers such as `prompt_policy`); unset: no judge. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  @MaxLength(200)
  OMNIGENT_POLICY_JUDGE_MODEL?: string;

  /** OpenAI-compatible base URL of the policy judge (`{base}/chat/completions`). */
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  OMNIGENT_POLICY_JUDGE_BASE_URL = 'https://api.openai.com/v1';

  /** Bearer key of the policy judge; never logged. Only meaningful with a judge model. */
  @Transform(blankToUndefined)
  @ValidateIf((dto: EnvDto) => dto.OMNIGENT_POLICY_JUDGE_API_KEY !== undefined)
  @ValidateBy({
    name: 'judgeKeyNeedsModel',
    validator: {
      validate: (_value, args) =>
        (args?.object as EnvDto | undefined)?.OMNIGENT_POLICY_JUDGE_MODEL !== undefined,
      defaultMessage: () =>
        'OMNIGENT_POLICY_JUDGE_API_KEY is set but OMNIGENT_POLICY_JUDGE_MODEL is not',
    },
  })
  @IsString()
  OMNIGENT_POLICY_JUDGE_API_KEY?: string;

  /** Milliseconds one judge call may take before the policy fails (closed or open, per handler). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120_000)
  OMNIGENT_POLICY_JUDGE_TIMEOUT_MS = 15_000;

  /** Durable stream events kept per session for Last-Event-ID replay. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  OMNIGENT_EVENT_LOG_RETENTION = 5000;

  /** Start a local runner with the server: auto (on in none mode), 1, or 0. */
  @IsIn(['auto', '0', '1'])
  OMNIGENT_LOCAL_RUNNER: 'auto' | '0' | '1' = 'auto';

  /** In jwt mode with OMNIGENT_LOCAL_RUNNER=1: the user who owns the local runner. */
  @Transform(blankToUndefined)
  @ValidateIf((env: EnvDto) => env.OMNIGENT_AUTH === 'jwt' && env.OMNIGENT_LOCAL_RUNNER === '1')
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
  /** Log lines: `json` (one object a line), `pretty` (human), `auto` (json unless stdout is a TTY). */
  @IsIn(['auto', 'json', 'pretty'])
  OMNIGENT_LOG_FORMAT: 'auto' | 'json' | 'pretty' = 'auto';

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
