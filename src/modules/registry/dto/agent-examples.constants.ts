import { EXAMPLE_IDS, EXAMPLE_TIME, listExample } from 'src/common/openapi/examples';
import type {
  AgentResponseDto,
  SessionAgentResponseDto,
} from 'src/modules/registry/dto/agent-response.dto';

/** The documented response examples of the agents routes. */
export const AGENT_EXAMPLE: AgentResponseDto = {
  id: EXAMPLE_IDS.agent,
  object: 'agent',
  name: 'echo',
  version: 1,
  description: 'Streams your message back; a deterministic harness for demos and tests.',
  created_at: EXAMPLE_TIME,
  updated_at: null,
  harness: 'echo',
  mcp_servers: [],
  mcp_servers_editable: false,
  policies: [],
  skills: [],
  terminals: [],
  tools: [],
  builtin: true,
};

export const AGENT_LIST_EXAMPLE = listExample(AGENT_EXAMPLE);

export const SESSION_AGENT_EXAMPLE: SessionAgentResponseDto = {
  ...AGENT_EXAMPLE,
  tools: [
    { name: 'read_file', runtime: 'server', description: null },
    { name: 'shell', runtime: 'server', description: null },
  ],
};
