import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

import { EnvDto } from 'src/config/env.dto';

export type AuthMode = 'none' | 'jwt';
export type LogLevel = EnvDto['OMNIGENT_LOG_LEVEL'];
export type BusKind = 'memory' | 'postgres' | 'redis';

/** The OpenAI-compatible model that judges LLM policies (spec/policies.md §8.7). */
export interface PolicyJudgeConfig {
  model: string;
  /** Without a trailing slash. */
  baseUrl: string;
  /** Sent as a bearer token; never logged or echoed. */
  apiKey?: string;
  timeoutMs: number;
}

export interface AppConfig {
  version: string;
  http: {
    host: string;
    port: number;
    bodyLimit: number;
    jsonMaxDepth: number;
    allowedHosts: string[];
    /** The three hot session reads skip the Express/Nest pipeline (same answers). */
    fastReads: boolean;
  };
  database: {
    url?: string;
    embedded: boolean;
    dataDir: string;
    migrate: boolean;
    poolSize: number;
    /** Hot reads as named prepared statements (off behind poolers that cannot keep them). */
    preparedStatements: boolean;
  };
  auth: {
    mode: AuthMode;
    allowRemoteNoAuth: boolean;
    jwtSecret?: string;
    jwksUrl?: string;
    jwksAlgorithms: ('RS256' | 'PS256' | 'ES256')[];
    issuer?: string;
    audience?: string;
    clockSkewS: number;
    adminClaim: string;
    adminValue: string;
    admins: string[];
  };
  /** Which bus carries events between replicas (spec/runner-protocol.md §9). */
  bus: { kind: BusKind; redisUrl?: string };
  sse: {
    heartbeatMs: number;
    maxPendingDataLength: number;
    retention: number;
    presenceGraceMs: number;
  };
  /** Policy approvals: how long an ASK waits for a human. */
  policies: {
    askTimeoutS: number;
    /** The LLM judge of `prompt_policy` & co.; null: those handlers are not registered. */
    judge: PolicyJudgeConfig | null;
  };
  /** `/v1/responses`: how long a blocking create waits for its turn. */
  responses: { timeoutMs: number };
  agents: { bundleMaxBytes: number; builtinDir: string };
  files: {
    /** Local blob store: `<dataDir>/files`. */
    dir: string;
    storage: 'local' | 's3';
    /** With storage `s3` (credentials: the AWS SDK's usual chain, e.g. AWS_ACCESS_KEY_ID). */
    s3: {
      bucket: string;
      prefix: string;
      endpoint?: string;
      region: string;
      forcePathStyle: boolean;
    };
    imageMaxBytes: number;
    pdfMaxBytes: number;
    textMaxBytes: number;
    maxBytes: number;
    copyMaxFiles: number;
    copyMaxBytes: number;
  };
  runners: {
    /** Start a runner with the server (resolved: auto means on in none mode). */
    local: boolean;
    localUser: string;
    /**
     * The local runner's whole inherited environment: what a runner needs (PATH, HOME, locale,
     * proxies, model keys) and OMNIGENT_LOCAL_RUNNER_ENV's names, never the server's secrets.
     */
    localEnv: Record<string, string>;
    /** Never visible to the local runner's tools: the data directory and these. */
    localProtectedPaths: string[];
    graceMs: number;
    heartbeatMs: number;
    /** Ingest units commit asynchronously; acks and hello wait for the WAL flush. */
    ingestAsyncCommit: boolean;
    livenessTtlMs: number;
    sweeperIntervalMs: number;
    /** Per-connection limits of the runner channel (docs/SECURITY.md). */
    limits: {
      maxFrameBytes: number;
      maxBatch: number;
      maxMessagesPerSecond: number;
      maxPendingRequests: number;
    };
  };
  /** Per-user and per-session limits (docs/SECURITY.md "Limits"); 429 `quota_exceeded` beyond. */
  quotas: {
    sessionsPerUser: number;
    itemsPerSession: number;
    runnersPerUser: number;
    streamsPerUser: number;
  };
  hosts: {
    /** `runner.launch` answer timeout (spec: 30 s). */
    launchTimeoutMs: number;
    /** `fs.*` / `worktree.*` answer timeout (spec: 5 s). */
    rpcTimeoutMs: number;
  };
  logLevel: LogLevel;
  /** Answers of the session read paths kept in memory (bytes; 0: no cache). */
  reads: { cacheBytes: number };
  ops: {
    logFormat: 'auto' | 'json' | 'pretty';
    /** JSON lines written at once (true) or buffered (false). */
    logSync: boolean;
    metricsToken?: string;
    /** Empty: CORS off. `['*']`: any origin. */
    corsOrigins: string[];
    /** Per user and minute, each bucket apart (api, streams, runners); undefined: off. */
    rateLimitPerMinute?: number;
    drainMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const ROOT_DIR = resolve(
  __dirname,
  '..',
  '..',
  ...(__dirname.includes(`${join('dist', 'src')}`) ? ['..'] : []),
);

/** The repository (or installed package) root: holds package.json and agents/. */
export function packageRoot(): string {
  return ROOT_DIR;
}

export function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(join(ROOT_DIR, 'package.json')) as { version: string }).version;
}

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((msg) =>
      msg.startsWith(e.property) ? msg : `${e.property}: ${msg}`,
    ),
  );
}

const list = (value: string) =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** Variables the local runner inherits from the server (runners.localEnv). */
export const LOCAL_RUNNER_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'OPENAI_MODEL',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
];

function localRunnerEnv(env: NodeJS.ProcessEnv, extra: string): Record<string, string> {
  const names = [...LOCAL_RUNNER_ENV, ...list(extra)].filter(
    (name) => !/^OMNIGENT_/i.test(name) && !['DATABASE_URL', 'REDIS_URL'].includes(name),
  );
  return Object.fromEntries(
    names.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name] as string]])),
  );
}

/** Validates the environment once and returns the typed, grouped config (style rule 16). */
export function getConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const input = Object.fromEntries(
    Object.entries(env).filter(
      ([k]) => k.startsWith('OMNIGENT_') || k === 'DATABASE_URL' || k === 'REDIS_URL',
    ),
  );
  const dto = plainToInstance(EnvDto, input, { exposeDefaultValues: true });
  const problems = flatten(validateSync(dto, { forbidUnknownValues: false }));
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  const dataDir = resolve(dto.OMNIGENT_DATA_DIR ?? join(homedir(), '.omnigent'));
  return {
    version: packageVersion(),
    http: {
      host: dto.OMNIGENT_HOST,
      port: dto.OMNIGENT_PORT,
      bodyLimit: dto.OMNIGENT_BODY_LIMIT,
      jsonMaxDepth: dto.OMNIGENT_JSON_MAX_DEPTH,
      allowedHosts: list(dto.OMNIGENT_ALLOWED_HOSTS.toLowerCase()),
      fastReads: dto.OMNIGENT_HTTP_FAST_READS,
    },
    database: {
      url: dto.DATABASE_URL,
      embedded: !dto.DATABASE_URL,
      dataDir,
      migrate: dto.OMNIGENT_DB_MIGRATE,
      poolSize: dto.OMNIGENT_DB_POOL_SIZE,
      preparedStatements: dto.OMNIGENT_DB_PREPARED_STATEMENTS,
    },
    auth: {
      mode: dto.OMNIGENT_AUTH,
      allowRemoteNoAuth: dto.OMNIGENT_ALLOW_REMOTE_NOAUTH,
      jwtSecret: dto.OMNIGENT_JWT_SECRET,
      jwksUrl: dto.OMNIGENT_JWKS_URL,
      jwksAlgorithms: list(dto.OMNIGENT_JWT_ALGORITHMS) as AppConfig['auth']['jwksAlgorithms'],
      issuer: dto.OMNIGENT_JWT_ISSUER,
      audience: dto.OMNIGENT_JWT_AUDIENCE,
      clockSkewS: dto.OMNIGENT_JWT_CLOCK_SKEW_S,
      adminClaim: dto.OMNIGENT_ADMIN_CLAIM,
      adminValue: dto.OMNIGENT_ADMIN_VALUE,
      admins: list(dto.OMNIGENT_ADMINS),
    },
    bus: {
      kind: dto.OMNIGENT_BUS === 'auto' ? (dto.REDIS_URL ? 'redis' : 'postgres') : dto.OMNIGENT_BUS,
      redisUrl: dto.REDIS_URL,
    },
    sse: {
      heartbeatMs: dto.OMNIGENT_SSE_HEARTBEAT_MS,
      maxPendingDataLength: dto.OMNIGENT_SSE_MAX_PENDING,
      retention: dto.OMNIGENT_EVENT_LOG_RETENTION,
      presenceGraceMs: dto.OMNIGENT_PRESENCE_GRACE_MS,
    },
    policies: {
      askTimeoutS: dto.OMNIGENT_POLICY_ASK_TIMEOUT_S,
      judge: dto.OMNIGENT_POLICY_JUDGE_MODEL
        ? {
            model: dto.OMNIGENT_POLICY_JUDGE_MODEL,
            baseUrl: dto.OMNIGENT_POLICY_JUDGE_BASE_URL.replace(/\/+$/, ''),
            apiKey: dto.OMNIGENT_POLICY_JUDGE_API_KEY,
            timeoutMs: dto.OMNIGENT_POLICY_JUDGE_TIMEOUT_MS,
          }
        : null,
    },
    responses: { timeoutMs: dto.OMNIGENT_RESPONSES_TIMEOUT_MS },
    agents: { bundleMaxBytes: dto.OMNIGENT_BUNDLE_MAX_BYTES, builtinDir: join(ROOT_DIR, 'agents') },
    files: {
      dir: join(dataDir, 'files'),
      storage: dto.OMNIGENT_FILES_STORAGE,
      s3: {
        bucket: dto.OMNIGENT_FILES_S3_BUCKET ?? '',
        prefix: dto.OMNIGENT_FILES_S3_PREFIX,
        endpoint: dto.OMNIGENT_FILES_S3_ENDPOINT,
        region: dto.OMNIGENT_FILES_S3_REGION,
        forcePathStyle: dto.OMNIGENT_FILES_S3_FORCE_PATH_STYLE,
      },
      imageMaxBytes: dto.OMNIGENT_FILES_IMAGE_MAX_BYTES,
      pdfMaxBytes: dto.OMNIGENT_FILES_PDF_MAX_BYTES,
      textMaxBytes: dto.OMNIGENT_FILES_TEXT_MAX_BYTES,
      maxBytes: dto.OMNIGENT_FILES_MAX_BYTES,
      copyMaxFiles: dto.OMNIGENT_FILES_COPY_MAX_FILES,
      copyMaxBytes: dto.OMNIGENT_FILES_COPY_MAX_BYTES,
    },
    runners: {
      local:
        dto.OMNIGENT_LOCAL_RUNNER === '1' ||
        (dto.OMNIGENT_LOCAL_RUNNER === 'auto' && dto.OMNIGENT_AUTH === 'none'),
      localUser: dto.OMNIGENT_AUTH === 'none' ? 'local' : (dto.OMNIGENT_LOCAL_RUNNER_USER ?? ''),
      localEnv: localRunnerEnv(env, dto.OMNIGENT_LOCAL_RUNNER_ENV),
      localProtectedPaths: [dataDir, ...list(dto.OMNIGENT_LOCAL_RUNNER_PROTECTED_PATHS)],
      graceMs: dto.OMNIGENT_RUNNER_GRACE_MS,
      heartbeatMs: dto.OMNIGENT_RUNNER_HEARTBEAT_MS,
      ingestAsyncCommit: dto.OMNIGENT_INGEST_ASYNC_COMMIT,
      livenessTtlMs: dto.OMNIGENT_RUNNER_LIVENESS_TTL_MS,
      sweeperIntervalMs: dto.OMNIGENT_SWEEPER_INTERVAL_MS,
      limits: {
        maxFrameBytes: dto.OMNIGENT_RUNNER_MAX_FRAME_BYTES,
        maxBatch: dto.OMNIGENT_RUNNER_MAX_BATCH,
        maxMessagesPerSecond: dto.OMNIGENT_RUNNER_MAX_MESSAGES_PER_SECOND,
        maxPendingRequests: dto.OMNIGENT_RUNNER_MAX_PENDING_REQUESTS,
      },
    },
    hosts: {
      launchTimeoutMs: dto.OMNIGENT_HOST_LAUNCH_TIMEOUT_MS,
      rpcTimeoutMs: dto.OMNIGENT_HOST_RPC_TIMEOUT_MS,
    },
    logLevel: dto.OMNIGENT_LOG_LEVEL,
    reads: { cacheBytes: dto.OMNIGENT_READ_CACHE_MB * 1024 * 1024 },
    quotas: {
      sessionsPerUser: dto.OMNIGENT_QUOTA_SESSIONS_PER_USER,
      itemsPerSession: dto.OMNIGENT_QUOTA_ITEMS_PER_SESSION,
      runnersPerUser: dto.OMNIGENT_QUOTA_RUNNERS_PER_USER,
      streamsPerUser: dto.OMNIGENT_QUOTA_STREAMS_PER_USER,
    },
    ops: {
      logFormat: dto.OMNIGENT_LOG_FORMAT,
      logSync: dto.OMNIGENT_LOG_SYNC,
      metricsToken: dto.OMNIGENT_METRICS_TOKEN,
      corsOrigins: list(dto.OMNIGENT_CORS_ORIGINS),
      rateLimitPerMinute: dto.OMNIGENT_RATE_LIMIT_PER_MINUTE,
      drainMs: dto.OMNIGENT_DRAIN_MS,
    },
  };
}

/**
 * Read at import time by the `@Sse()` decorator, which takes its limit as a literal. Falls back to
 * the default when the variable is invalid; getConfig() reports the problem at boot.
 */
export function sseMaxPendingFromEnv(): number {
  const raw = Number(process.env.OMNIGENT_SSE_MAX_PENDING);
  return Number.isInteger(raw) && raw >= 1024 ? raw : new EnvDto().OMNIGENT_SSE_MAX_PENDING;
}
