import { ApiProperty } from '@nestjs/swagger';

import { ListEnvelopeDto } from 'src/common/pagination/pagination';
import { toUnixSeconds } from 'src/database/transformers';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import type { AgentMcpToolWire, AgentSpecWire, AgentToolRuntime } from 'src/protocol/agent-spec';

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

export class AgentToolDto {
  @ApiProperty() name: string;
  @ApiProperty({
    enum: ['server', 'client', 'mcp', 'agent', 'unavailable'],
    description:
      'server: a built-in OS tool; client: run by the client; mcp: an MCP server whose tools are offered; agent: a sub-agent; unavailable: declared but not runnable here (a Python callable, a container image).',
  })
  runtime: AgentToolRuntime;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
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
  /** The spec's `type: mcp` tools. */
  @ApiProperty({ type: [McpServerSummaryDto] }) mcp_servers: McpServerSummaryDto[];
  @ApiProperty() mcp_servers_editable: boolean;
  @ApiProperty({ type: [PolicySummaryDto] }) policies: PolicySummaryDto[];
  @ApiProperty({ type: [SkillSummaryDto] }) skills: SkillSummaryDto[];
  @ApiProperty({ type: [String], description: 'Declared terminal names, in spec order.' })
  terminals: string[];
  @ApiProperty({ type: [AgentToolDto], description: 'The tools the spec gives the agent.' })
  tools: AgentToolDto[];
  @ApiProperty({ description: 'True for agents shipped with the server.' }) builtin: boolean;
}

/** The session's agent: the same AgentObject. */
export class SessionAgentResponseDto extends AgentResponseDto {}

export class AgentListResponseDto extends ListEnvelopeDto {
  @ApiProperty({ type: [AgentResponseDto] }) data: AgentResponseDto[];
}

function toMcpServerSummary(tool: AgentMcpToolWire): McpServerSummaryDto {
  return {
    name: tool.name,
    transport: tool.transport,
    description: tool.description ?? null,
    url: tool.url ?? null,
    // Header values may be secrets (even unresolved `${VAR}` names say little): names only.
    headers: Object.fromEntries(Object.keys(tool.headers ?? {}).map((key) => [key, '***'])),
    command: tool.command ?? null,
    args: tool.args ?? [],
  };
}

export function toAgentResponse(agent: AgentEntity): AgentResponseDto {
  const spec = agent.spec as Partial<AgentSpecWire>;
  const tools = Array.isArray(spec.tools) ? spec.tools : [];
  return {
    id: agent.id,
    object: 'agent',
    name: agent.name,
    version: agent.version,
    description: agent.description,
    created_at: toUnixSeconds(agent.createdAt),
    updated_at: toUnixSeconds(agent.updatedAt),
    harness: agent.harness,
    mcp_servers: tools
      .filter((t): t is AgentMcpToolWire => t.runtime === 'mcp')
      .map(toMcpServerSummary),
    mcp_servers_editable: false,
    policies: (spec.policies ?? []).map((p) => ({
      name: p.name,
      type: 'function',
      on: Array.isArray(p.on) ? p.on : [],
      description: p.description ?? p.handler ?? null,
    })),
    skills: [],
    terminals: Object.keys(spec.terminals ?? {}),
    tools: tools.map((t) => ({
      name: t.name,
      runtime: t.runtime,
      description: ('description' in t ? t.description : undefined) ?? null,
    })),
    builtin: agent.builtin,
  };
}

export function toSessionAgentResponse(agent: AgentEntity): SessionAgentResponseDto {
  return toAgentResponse(agent);
}
