import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { PolicyEntity } from 'src/modules/policies/policy.entity';
import { RegistryEntry } from 'src/modules/policies/policy-registry.service';

const seconds = (date: Date | null) => (date ? Math.floor(date.getTime() / 1000) : null);

export class SessionPolicyResponseDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['session.policy'] }) object: 'session.policy';
  @ApiProperty() name: string;
  @ApiProperty() type: string;
  @ApiProperty() handler: string;
  /** Only when set. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  factory_params?: Record<string, unknown>;
  @ApiProperty() enabled: boolean;
  @ApiProperty({ enum: ['session'] }) source: 'session';
  @ApiProperty() created_at: number;
  @ApiProperty({ type: Number, nullable: true }) updated_at: number | null;
}

export class DefaultPolicyResponseDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['default_policy'] }) object: 'default_policy';
  @ApiProperty() name: string;
  @ApiProperty() type: string;
  @ApiProperty() handler: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  factory_params?: Record<string, unknown>;
  @ApiProperty() enabled: boolean;
  @ApiProperty() created_at: number;
  @ApiProperty({ type: Number, nullable: true }) updated_at: number | null;
  @ApiProperty({ type: String, nullable: true }) created_by: string | null;
}

export class SessionPolicyListResponseDto {
  @ApiProperty({ enum: ['list'] }) object: 'list';
  @ApiProperty({ type: [SessionPolicyResponseDto] }) data: SessionPolicyResponseDto[];
}

export class DefaultPolicyListResponseDto {
  @ApiProperty({ enum: ['list'] }) object: 'list';
  @ApiProperty({ type: [DefaultPolicyResponseDto] }) data: DefaultPolicyResponseDto[];
}

export class PolicyDeletedResponseDto {
  @ApiProperty({ enum: [true] }) deleted: true;
}

export class RegistryEntryDto implements RegistryEntry {
  @ApiProperty({ example: 'omnigent.policies.builtins.safety.max_tool_calls_per_session' })
  handler: string;
  @ApiProperty({ enum: ['factory', 'callable'] }) kind: 'factory' | 'callable';
  @ApiProperty() name: string;
  @ApiProperty() description: string;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  params_schema: Record<string, unknown> | null;
  @ApiProperty() internal_only: boolean;
}

export class PolicyRegistryResponseDto {
  @ApiProperty({ enum: ['list'] }) object: 'list';
  @ApiProperty({ type: [RegistryEntryDto] }) data: RegistryEntryDto[];
}

export class ElicitationLookupResponseDto {
  @ApiProperty({ enum: ['pending', 'resolved'] }) status: 'pending' | 'resolved';
  @ApiPropertyOptional() message?: string;
  @ApiPropertyOptional({ type: String, nullable: true }) phase?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true }) policy_name?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true }) content_preview?: string | null;
}

export class EvaluateResponseDto {
  @ApiProperty({
    enum: [
      'POLICY_ACTION_ALLOW',
      'POLICY_ACTION_DENY',
      'POLICY_ACTION_ASK',
      'POLICY_ACTION_UNSPECIFIED',
    ],
  })
  result: string;
  @ApiPropertyOptional() reason?: string;
  @ApiPropertyOptional({ description: 'The payload as rewritten by a policy.' }) data?: unknown;
}

export class ElicitationResolveAckDto {
  @ApiProperty({ enum: [false] }) queued: false;
}

function common(row: PolicyEntity) {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    handler: row.handler,
    ...(row.factoryParams ? { factory_params: row.factoryParams } : {}),
    enabled: row.enabled,
    created_at: seconds(row.createdAt) ?? 0,
    updated_at: seconds(row.updatedAt),
  };
}

export function toSessionPolicy(row: PolicyEntity): SessionPolicyResponseDto {
  return { ...common(row), object: 'session.policy', source: 'session' };
}

export function toDefaultPolicy(row: PolicyEntity): DefaultPolicyResponseDto {
  return { ...common(row), object: 'default_policy', created_by: row.createdBy };
}
