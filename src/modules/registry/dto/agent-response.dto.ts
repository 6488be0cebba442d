import { ApiProperty } from '@nestjs/swagger';

import { ListEnvelopeDto } from 'src/common/pagination/pagination';
import { toUnixSeconds } from 'src/database/transformers';
import { AgentEntity } from 'src/modules/registry/agent.entity';

export class PolicySummaryDto {
  @ApiProperty() name: string;
  @ApiProperty({ example: 'function' }) type: string;
  @ApiProperty({ type: [String] }) on: string[];
  @ApiProperty({ type: String, nullable: true }) description: string | null;
}

export class SkillSummaryDto {
  @ApiProperty() name: string;
  @ApiProperty() description: string;
}

export class McpServerSummaryDto {
  @ApiProperty() name: string;
  @ApiProperty({ enum: ['stdio', 'http'] }) transport: string;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ type: String, nullable: true }) url: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) headers: Record<
    string,
    string
  >;
  @ApiProperty({ type: String, nullable: true }) command: string | null;
  @ApiProperty({ type: [String] }) args: string[];
}

/** upstream's AgentObject. */
export class AgentResponseDto {
  @ApiProperty({ example: 'ag_0123456789abcdef0123456789abcdef' }) id: string;
  @ApiProperty({ example: 'agent' }) object: 'agent';
  @ApiProperty() name: string;
  @ApiProperty() version: number;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty() created_at: number;
  @ApiProperty({ type: Number, nullable: true }) updated_at: number | null;
  @ApiProperty({ type: String, nullable: true, example: 'echo' }) harness: string | null;
  @ApiProperty({ type: [McpServerSummaryDto] }) mcp_servers: McpServerSummaryDto[];
  @ApiProperty() mcp_servers_editable: boolean;
  /** Always empty on `GET /v1/agents` (as upstream); filled on `GET /v1/sessions/{id}/agent`. */
  @ApiProperty({ type: [PolicySummaryDto] }) policies: PolicySummaryDto[];
  @ApiProperty({ type: [SkillSummaryDto] }) skills: SkillSummaryDto[];
  @ApiProperty({ type: [String], description: 'Declared terminal names, in spec order.' })
  terminals: string[];
  @ApiProperty({ description: 'True for agents shipped with the server.' }) builtin: boolean;
}

export class AgentToolDto {
  @ApiProperty() name: string;
  @ApiProperty({ enum: ['server', 'client'] }) runtime: 'server' | 'client';
}

/** The session's agent: AgentObject plus its policies and tools. */
export class SessionAgentResponseDto extends AgentResponseDto {
  @ApiProperty({ type: [AgentToolDto] }) tools: AgentToolDto[];
}

export class AgentListResponseDto extends ListEnvelopeDto {
  @ApiProperty({ type: [AgentResponseDto] }) data: AgentResponseDto[];
}

export function toAgentResponse(agent: AgentEntity): AgentResponseDto {
  const spec = agent.spec as { terminals?: Record<string, unknown> };
  return {
    id: agent.id,
    object: 'agent',
    name: agent.name,
    version: agent.version,
    description: agent.description,
    created_at: toUnixSeconds(agent.createdAt),
    updated_at: toUnixSeconds(agent.updatedAt),
    harness: agent.harness,
    mcp_servers: [],
    mcp_servers_editable: false,
    policies: [],
    skills: [],
    terminals: Object.keys(spec.terminals ?? {}),
    builtin: agent.builtin,
  };
}

export function toSessionAgentResponse(agent: AgentEntity): SessionAgentResponseDto {
  const spec = agent.spec as {
    policies?: { name: string; on?: string[]; description?: string }[];
    tools?: { name: string; runtime: 'server' | 'client' }[];
  };
  return {
    ...toAgentResponse(agent),
    policies: (spec.policies ?? []).map((p) => ({
      name: p.name,
      type: 'function',
      on: Array.isArray(p.on) ? p.on : [],
      description: p.description ?? null,
    })),
    tools: (spec.tools ?? []).map((t) => ({ name: t.name, runtime: t.runtime })),
  };
}
