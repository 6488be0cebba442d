import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsPositive,
  IsString,
  Matches,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

import {
  AgentExecutorDto,
  AgentOsEnvDto,
  NestedMapping,
} from 'src/modules/registry/dto/agent-spec.dto';

/**
 * The entries of the spec's name-keyed maps (`tools.<name>`, `policies.<name>`,
 * `terminals.<name>`), one DTO per upstream form. Unknown keys are kept.
 */

const HANDLER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

/** `{type: mcp, command, args, env, tools?}` (stdio) or `{type: mcp, url, headers, tools?}`. */
export class McpToolDto {
  @IsIn(['mcp']) type: 'mcp';
  @ValidateIf((o: McpToolDto) => o.url === undefined || o.url === null)
  @IsString({ message: '$property is required (a command for a stdio server, or url)' })
  command?: string;
  @IsOptional()
  @IsString({ each: true, message: '$property must be a list of strings' })
  @IsArray({ message: '$property must be a list of strings' })
  args?: string[];
  @IsOptional() @IsObject({ message: '$property must be a mapping' }) env?: Record<string, string>;
  @IsOptional() @IsString() cwd?: string;
  @IsOptional()
  @Matches(/^https?:\/\//, { message: '$property must be an http(s) URL' })
  url?: string;
  @IsOptional()
  @IsObject({ message: '$property must be a mapping' })
  headers?: Record<string, string>;
  /** Only these of the server's tools are offered (all when absent). */
  @IsOptional()
  @IsString({ each: true, message: '$property must be a list of strings' })
  @IsArray({ message: '$property must be a list of strings' })
  tools?: string[];
  @IsOptional() @IsString() description?: string;
}

/** `{type: function, callable}` (a Python callable) or `{type: function, runtime: client}`. */
export class FunctionToolDto {
  @IsIn(['function']) type: 'function';
  @ValidateIf((o: FunctionToolDto) => o.runtime !== 'client')
  @IsString({ message: '$property is required unless runtime is client' })
  callable?: string;
  @IsOptional() @IsIn(['client', 'server']) runtime?: string;
  @IsOptional() @IsString() description?: string;
  @IsOptional() @IsObject({ message: '$property must be a mapping' }) parameters?: object;
}

/** `{type: agent, prompt, executor, os_env, pass_history, max_sessions}`: a sub-agent. */
export class SubAgentToolDto {
  @IsIn(['agent']) type: 'agent';
  @IsOptional() @IsString() description?: string;
  @IsOptional() @IsString() prompt?: string;
  @IsOptional() @IsString() instructions?: string;
  @NestedMapping(() => AgentExecutorDto)
  executor?: AgentExecutorDto;
  /** `inherit` (the parent's) or an os_env mapping. */
  @IsOptional()
  @ValidateIf((o: SubAgentToolDto) => o.os_env !== 'inherit')
  @IsObject({ message: '$property must be inherit or a mapping' })
  @ValidateNested()
  @Type(() => AgentOsEnvDto)
  os_env?: AgentOsEnvDto | 'inherit';
  @IsOptional() @IsBoolean() pass_history?: boolean;
  @IsOptional() @Min(1) @IsInt() max_sessions?: number;
  @IsOptional() tools?: unknown;
  @IsOptional() @IsString() spec?: string;
}

/** `{container_image | docker_image, container_runtime}`. */
export class ContainerToolDto {
  @IsOptional() @IsString() container_image?: string;
  @IsOptional() @IsString() docker_image?: string;
  @IsOptional() @IsString() container_runtime?: string;
  @IsOptional() @IsString() description?: string;
}

/** `policies.<name>`: `{type: function, handler | function: {path, arguments}, on, factory_params}`. */
export class PolicyFunctionDto {
  @Matches(HANDLER_PATTERN, { message: '$property must be a dotted handler id' })
  @IsString()
  path: string;
  @IsOptional() @IsObject({ message: '$property must be a mapping' }) arguments?: object;
}

export class PolicyEntryDto {
  @IsOptional() @IsIn(['function'], { message: '$property must be function' }) type?: string;
  @ValidateIf((o: PolicyEntryDto) => o.function === undefined || o.function === null)
  @Matches(HANDLER_PATTERN, { message: '$property must be a dotted handler id' })
  @IsString({ message: '$property is required (or function: {path})' })
  handler?: string;
  @IsOptional()
  @ValidateIf((o: PolicyEntryDto) => typeof o.function !== 'string')
  @IsObject({ message: '$property must be a dotted handler id or {path, arguments}' })
  @ValidateNested()
  @Type(() => PolicyFunctionDto)
  function?: PolicyFunctionDto | string;
  @IsOptional()
  @IsString({ each: true, message: '$property must be a list of strings' })
  @IsArray({ message: '$property must be a list of strings' })
  on?: string[];
  @IsOptional() @IsObject({ message: '$property must be a mapping' }) factory_params?: object;
  @IsOptional() @IsString() description?: string;
  /** Seconds an ASK of this policy waits for the human (spec/policies.md §2.4). */
  @IsOptional()
  @IsPositive({ message: '$property must be a number of seconds > 0' })
  @IsNumber({}, { message: '$property must be a number of seconds > 0' })
  ask_timeout?: number;
}

/** `terminals.<name>`. */
export class TerminalEntryDto {
  @IsOptional() @IsString() command?: string;
  @IsOptional()
  @IsString({ each: true, message: '$property must be a list of strings' })
  @IsArray({ message: '$property must be a list of strings' })
  args?: string[];
  @IsOptional() @IsString() cwd?: string;
  @IsOptional() @IsObject({ message: '$property must be a mapping' }) env?: Record<string, string>;
  /** `inherit` (the agent's) or an os_env mapping. */
  @IsOptional()
  @ValidateIf((o: TerminalEntryDto) => o.os_env !== 'inherit')
  @IsObject({ message: '$property must be inherit or a mapping' })
  os_env?: object | 'inherit';
  @IsOptional() @IsBoolean() allow_cwd_override?: boolean;
  @IsOptional() @IsBoolean() allow_sandbox_override?: boolean;
  @IsOptional() @Min(0) @IsInt() scrollback?: number;
  @IsOptional() @IsObject({ message: '$property must be a mapping' }) sandbox?: object;
}
