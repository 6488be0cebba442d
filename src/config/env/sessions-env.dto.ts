import { Transform } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';

import { blankToUndefined, toInt } from 'src/config/env/env-coercion.util';
import { FilesEnvDto } from 'src/config/env/files-env.dto';

/** Session streams and presence, blocking responses, policy approvals and the policy judge. */
export class SessionsEnvDto extends FilesEnvDto {
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
  @ValidateIf((dto: SessionsEnvDto) => dto.OMNIGENT_POLICY_JUDGE_API_KEY !== undefined)
  @ValidateBy({
    name: 'judgeKeyNeedsModel',
    validator: {
      validate: (_value, args) =>
        (args?.object as SessionsEnvDto | undefined)?.OMNIGENT_POLICY_JUDGE_MODEL !== undefined,
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
}
