import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsObject, ValidateNested } from 'class-validator';

import { ListQueryDto } from 'src/common/pagination/pagination';
import { AllowUnknownFields } from 'src/common/validation/app-validation.pipe';
import {
  Optional,
  ValidateBoolean,
  ValidateEnum,
  ValidateString,
  ValidateStringArray,
  ValidateStringMap,
} from 'src/common/validation/validation.decorators';

export const REASONING_EFFORTS = [
  'none',
  'minimal',
  'low',
  'medium',
  'high',
  'xhigh',
  'max',
  'ultra',
] as const;
export const ON_OFF = ['on', 'off'] as const;

const EVENT_KEYS = new Set(['type', 'data', 'model_override', 'tools', 'created_by']);

/** SessionEventInputDto's string limits, for its decorators and its fastBody alike. */
const EVENT_MAX_LENGTH = { type: 100, model_override: 200, created_by: 256 } as const;

const isObjectValue = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Absent, null, or a string of at most `max` UTF-16 units (never more code points than that). */
const isShortStringOrNull = (value: unknown, max: number): boolean =>
  value === undefined || value === null || (typeof value === 'string' && value.length <= max);

/** A nested key class-transformer would not copy: the body takes the full pipe. */
class InheritedKey extends Error {}

/**
 * A copy of a parsed JSON value, as class-transformer makes of an untyped nested value. It leaves
 * out keys that name `Object.prototype`'s members (`toString`, `constructor`, …; found by the
 * pipe spec's property): for those this throws `InheritedKey` rather than copy them differently.
 */
function copyJson(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(copyJson);
  }
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      if (key in Object.prototype) {
        throw new InheritedKey(key);
      }
      copy[key] = copyJson((value as Record<string, unknown>)[key]);
    }
    return copy;
  }
  return value;
}

/** One event for `POST /v1/sessions/{id}/events` (upstream's SessionEventInput). */
@AllowUnknownFields()
export class SessionEventInputDto {
  /**
   * The validation pipe's fast path (`FastBody`): a body of known keys whose values plainly pass
   * the decorators below becomes the instance the full pipe would build; anything else (unknown
   * keys to drop, a value to reject, a string near its limit) returns undefined and goes through
   * class-transformer and class-validator as before.
   */
  static fastBody(value: Record<string, unknown>): SessionEventInputDto | undefined {
    const keys = Object.keys(value);
    if (!keys.every((key) => EVENT_KEYS.has(key))) {
      return undefined;
    }
    const { type, data, tools } = value;
    if (
      typeof type !== 'string' ||
      type === '' ||
      type.length > EVENT_MAX_LENGTH.type ||
      (data !== undefined && !isObjectValue(data)) ||
      !isShortStringOrNull(value.model_override, EVENT_MAX_LENGTH.model_override) ||
      !isShortStringOrNull(value.created_by, EVENT_MAX_LENGTH.created_by) ||
      (tools !== undefined &&
        tools !== null &&
        !(Array.isArray(tools) && tools.every(isObjectValue)))
    ) {
      return undefined;
    }
    const dto = new SessionEventInputDto() as unknown as Record<string, unknown>;
    try {
      for (const key of keys) {
        dto[key] = copyJson(value[key]);
      }
    } catch (error) {
      if (error instanceof InheritedKey) {
        return undefined;
      }
      throw error;
    }
    return dto as unknown as SessionEventInputDto;
  }

  @ValidateString({
    notEmpty: true,
    maxLength: EVENT_MAX_LENGTH.type,
    description: 'Event type, e.g. message, interrupt.',
  })
  type: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Type-specific payload.',
  })
  @Optional()
  @IsObject()
  data?: Record<string, unknown>;

  @ValidateString({ optional: true, nullable: true, maxLength: EVENT_MAX_LENGTH.model_override })
  model_override?: string | null;

  @ApiPropertyOptional({ type: 'array', items: { type: 'object' }, nullable: true })
  @Optional({ nullable: true })
  @IsArray()
  @IsObject({ each: true })
  tools?: Record<string, unknown>[] | null;

  @ValidateString({ optional: true, nullable: true, maxLength: EVENT_MAX_LENGTH.created_by })
  created_by?: string | null;
}

export class SessionGitOptionsDto {
  @ValidateString({ maxLength: 255 }) branch_name: string;
  @ValidateString({ optional: true, nullable: true, maxLength: 255 }) base_branch?: string | null;
  @ValidateBoolean({ optional: true }) existing_worktree?: boolean;
}

/** `POST /v1/sessions` with JSON (upstream's SessionCreateRequest). */
@AllowUnknownFields()
export class CreateSessionDto {
  @ValidateString({ notEmpty: true, maxLength: 200, description: 'Agent id from GET /v1/agents.' })
  agent_id: string;

  @ApiPropertyOptional({ type: [SessionEventInputDto] })
  @Optional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => SessionEventInputDto)
  initial_items?: SessionEventInputDto[];

  @ValidateString({ optional: true, nullable: true, maxLength: 500 }) title?: string | null;
  @ValidateStringMap({ optional: true }) labels?: Record<string, string>;
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) parent_session_id?:
    string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) sub_agent_name?:
    string | null;
  @ValidateEnum(['external', 'managed'] as const, 'HostType', { optional: true })
  host_type?: 'external' | 'managed';
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) host_id?: string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) sandbox_provider?:
    string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 4096 }) workspace?: string | null;

  @ApiPropertyOptional({ type: SessionGitOptionsDto, nullable: true })
  @Optional({ nullable: true })
  @ValidateNested()
  @Type(() => SessionGitOptionsDto)
  git?: SessionGitOptionsDto | null;

  @ValidateStringArray({ optional: true, nullable: true }) terminal_launch_args?: string[] | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) model_override?:
    string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 50 }) reasoning_effort?:
    string | null;
  @ValidateEnum(ON_OFF, 'OnOff', { optional: true, nullable: true })
  cost_control_mode_override?: 'on' | 'off' | null;
  @ValidateEnum(ON_OFF, 'OnOff', { optional: true, nullable: true })
  subagent_routing_override?: 'on' | 'off' | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 100 }) harness_override?:
    string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 10_000 }) smart_routing_message?:
    string | null;
}

/** The `metadata` part of a multipart create (upstream's SessionCreateMetadata). */
export class CreateSessionMetadataDto {
  @ValidateString({ optional: true, nullable: true, maxLength: 500 }) title?: string | null;
  @ValidateStringMap({ optional: true }) labels?: Record<string, string>;
  @ValidateString({ optional: true, nullable: true, maxLength: 50 }) reasoning_effort?:
    string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) host_id?: string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 4096 }) workspace?: string | null;
  @ValidateStringArray({ optional: true, nullable: true }) terminal_launch_args?: string[] | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) parent_session_id?:
    string | null;
}

export class CreateSessionMultipartDto {
  @ApiProperty({
    type: 'string',
    description: 'JSON object: title, labels, reasoning_effort, workspace, …',
  })
  metadata: string;

  @ApiProperty({
    type: 'string',
    format: 'binary',
    description: 'Agent bundle (.tar.gz with config.yaml).',
  })
  bundle: unknown;
}

/** `PATCH /v1/sessions/{id}` (upstream's UpdateSessionRequest; unknown keys are a 422). */
export class UpdateSessionDto {
  @ValidateString({
    optional: true,
    nullable: true,
    maxLength: 200,
    description: 'Bind a connected runner; "" unbinds; null/omitted leaves it.',
  })
  runner_id?: string | null;

  @ValidateString({ optional: true, nullable: true, maxLength: 500 }) title?: string | null;
  @ValidateStringMap({ optional: true, nullable: true }) labels?: Record<string, string> | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 50 }) reasoning_effort?:
    string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) model_override?:
    string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 50 }) collaboration_mode?:
    string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 50 }) permission_mode?:
    string | null;
  // Checked by the service: upstream answers other values with 400, not 422.
  @ValidateString({
    optional: true,
    nullable: true,
    maxLength: 10,
    description: '"on", "off", or null to clear.',
  })
  cost_control_mode_override?: string | null;
  @ValidateString({
    optional: true,
    nullable: true,
    maxLength: 10,
    description: '"on", "off", or null to clear.',
  })
  subagent_routing_override?: string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 500 }) external_session_id?:
    string | null;
  @ValidateStringArray({ optional: true, nullable: true }) terminal_launch_args?: string[] | null;
  @ValidateBoolean({ optional: true, nullable: true }) archived?: boolean | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) project_id?: string | null;
  @ValidateBoolean({ optional: true }) silent?: boolean;
}

export class ForkSessionDto {
  @ValidateString({ optional: true, nullable: true, maxLength: 500 }) title?: string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) agent_id?: string | null;
  @ValidateString({ optional: true, nullable: true, maxLength: 200 }) up_to_response_id?:
    string | null;
}

export class ListSessionsQueryDto extends ListQueryDto {
  @ValidateEnum(['created_at', 'updated_at'] as const, 'SessionSortBy', {
    optional: true,
    default: 'created_at',
  })
  sort_by?: 'created_at' | 'updated_at';
  @ValidateString({ optional: true, maxLength: 200 }) agent_id?: string;
  @ValidateString({ optional: true, maxLength: 200 }) agent_name?: string;
  @ValidateString({
    optional: true,
    maxLength: 500,
    description: 'Words matched against titles and message text.',
  })
  search_query?: string;
  @ValidateBoolean({ optional: true }) include_archived?: boolean;
  @ValidateEnum(['default', 'sub_agent', 'any'] as const, 'SessionKindFilter', {
    optional: true,
    default: 'default',
  })
  kind?: 'default' | 'sub_agent' | 'any';
  @ValidateString({
    optional: true,
    maxLength: 200,
    description: 'Accepted for compatibility; projects are not supported.',
  })
  project?: string;
  @ValidateBoolean({
    optional: true,
    description: 'Accepted for compatibility; pins are not supported.',
  })
  pinned?: boolean;
}

export class GetSessionQueryDto {
  @ValidateBoolean({ optional: true, description: 'false → items: [] (default true).' })
  include_items?: boolean;
  @ValidateBoolean({ optional: true, description: 'false → runner_online/host_online null.' })
  include_liveness?: boolean;
  @ValidateBoolean({ optional: true, description: 'Accepted for compatibility.' })
  refresh_state?: boolean;
}

export class ListItemsQueryDto extends ListQueryDto {}

export class ListChildSessionsQueryDto extends ListQueryDto {
  @ValidateString({ optional: true, maxLength: 200 }) tool?: string;
  @ValidateString({ optional: true, maxLength: 200 }) session_name?: string;
}

export class DeleteSessionQueryDto {
  @ValidateBoolean({
    optional: true,
    description: 'Accepted for compatibility (no worktrees here).',
  })
  delete_branch?: boolean;
}

export class StreamQueryDto {
  @ValidateBoolean({ optional: true, description: 'The client tab is in the background.' })
  idle?: boolean;
}
