import 'reflect-metadata';

import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  NotContains,
  ValidateNested,
} from 'class-validator';

import { SANDBOX_TYPES } from 'src/protocol/agent-spec';

/**
 * The agent spec (`config.yaml`) as class-validator DTOs: the scalar keys and nested mappings of
 * upstream's grammar (`docs/AGENT-SPEC.md`). Unknown keys are kept (no whitelist). The name-keyed
 * maps (`tools`, `policies`, `terminals`) are validated entry by entry against the DTOs of
 * `agent-spec-entries.dto.ts`, so an error names `tools.<name>.<field>`.
 */

export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const MAX_MAX_ITERATIONS = 200;
const MAX_WRITE_PATHS = 32;

/**
 * An optional nested mapping validated against its DTO: `{ IsObject, ValidateNested, Type }`.
 * class-validator runs constraints in the order they are registered: the shape check first.
 */
export function NestedMapping(
  type: () => new () => object,
  message = '$property must be a mapping',
): PropertyDecorator {
  const decorators = [IsOptional(), IsObject({ message }), ValidateNested(), Type(type)];
  return (target, key) => decorators.forEach((decorator) => decorator(target, key));
}

/** `executor.auth`: every upstream type (`api_key`, `provider`, `databricks`, …) is kept as is. */
export class AgentAuthDto {
  @IsOptional() @IsString() type?: string;
  @IsOptional() @IsString() api_key?: string;
  @IsOptional() @IsString() base_url?: string;
  /** `provider` auth. */
  @IsOptional() @IsString() name?: string;
  /** `databricks` auth. */
  @IsOptional() @IsString() profile?: string;
}

export class AgentExecutorDto {
  @IsOptional() @IsString() harness?: string;
  @IsOptional() @IsString() type?: string;
  @IsOptional() @IsString() model?: string;
  /** Upstream's legacy `executor.profile`. */
  @IsOptional() @IsString() profile?: string;
  @NestedMapping(() => AgentAuthDto)
  auth?: AgentAuthDto;
}

export class AgentSandboxDto {
  @IsOptional()
  @IsIn(SANDBOX_TYPES, { message: `$property must be one of ${SANDBOX_TYPES.join(', ')} or null` })
  type?: string | null;
  @IsOptional() @IsBoolean() allow_network?: boolean;
  @IsOptional()
  @NotContains('\0', { each: true, message: '$property must be a list of paths' })
  @MinLength(1, { each: true, message: '$property must be a list of paths' })
  @IsString({ each: true, message: '$property must be a list of paths' })
  @ArrayMaxSize(MAX_WRITE_PATHS, {
    message: `$property must be a list of at most ${MAX_WRITE_PATHS} paths`,
  })
  @IsArray({ message: `$property must be a list of at most ${MAX_WRITE_PATHS} paths` })
  write_paths?: string[];
  @IsOptional() @IsArray() egress_rules?: unknown[];
  @IsOptional() @IsObject({ message: '$property must be a mapping' }) credential_proxy?: object;
}

export class AgentOsEnvDto {
  @IsIn(['caller_process'], { message: '$property must be caller_process' })
  type: string;
  /** Relative to the session workspace, or absolute (upstream allows both). */
  @IsOptional()
  @NotContains('\0', { message: '$property must be a path' })
  @IsString()
  cwd?: string;
  @NestedMapping(() => AgentSandboxDto)
  sandbox?: AgentSandboxDto | null;
}

/** The top-level keys of a spec. */
export class AgentSpecDto {
  // class-validator runs the decorator nearest the property first: the type check goes last.
  @Matches(AGENT_NAME_PATTERN, {
    message: 'name must be 1-128 letters, digits, "-", "_" or "." and start with a letter or digit',
  })
  @IsString()
  name: string;
  @IsOptional() @IsString() description?: string;
  @IsOptional() @IsString() prompt?: string;
  @IsOptional() @IsString() instructions?: string;
  @NestedMapping(() => AgentExecutorDto)
  executor?: AgentExecutorDto;
  @NestedMapping(() => AgentOsEnvDto)
  os_env?: AgentOsEnvDto;
  @IsOptional() @IsObject({ message: '$property must be a mapping' }) params?: object;
  @IsOptional() @IsBoolean() async?: boolean;
  @IsOptional() @IsBoolean() cancellable?: boolean;
  @IsOptional() @IsBoolean() timers?: boolean;
  @IsOptional()
  @Max(MAX_MAX_ITERATIONS, {
    message: `$property must be an integer between 1 and ${MAX_MAX_ITERATIONS}`,
  })
  @Min(1, { message: `$property must be an integer between 1 and ${MAX_MAX_ITERATIONS}` })
  @IsInt({ message: `$property must be an integer between 1 and ${MAX_MAX_ITERATIONS}` })
  max_iterations?: number;
}
