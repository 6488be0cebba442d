import { IdPrefix, newId } from 'src/common/ids/ids';
import { AgentSubAgentToolWire } from 'src/protocol/agent-spec';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import { NewAgent } from 'src/modules/registry/agents.repository';

/** The columns an agent is created with (what `insertWith` and `upsertBuiltin` take). */
export type AgentFields = Pick<
  AgentEntity,
  | 'builtin'
  | 'description'
  | 'harness'
  | 'id'
  | 'name'
  | 'ownerId'
  | 'ownerSessionId'
  | 'spec'
  | 'version'
  | 'yaml'
>;

/**
 * A valid catalog agent on the echo harness. Names are unique per call: built-in names are unique
 * in the whole database (`uq_agents_builtin_name`), which the PostgreSQL test database shares.
 */
export function agentFactory(overrides: NewAgent = {}): AgentFields & NewAgent {
  const id = overrides.id ?? newId(IdPrefix.Agent);
  const name = overrides.name ?? `agent-${id.slice(-12)}`;
  return {
    id,
    name,
    version: 1,
    description: `Test agent ${name}`,
    harness: 'echo',
    spec: { name, executor: { harness: 'echo' } },
    yaml: `name: ${name}\nexecutor:\n  harness: echo\n`,
    builtin: false,
    ownerSessionId: null,
    ownerId: null,
    ...overrides,
  };
}

/** A `type: agent` tool as the parsed spec holds it: `helper`, on echo, no cap, no history. */
export function subAgentToolFactory(
  overrides: Partial<AgentSubAgentToolWire> = {},
): AgentSubAgentToolWire {
  return {
    name: 'helper',
    runtime: 'agent',
    instructions: 'Help.',
    executor: { harness: 'echo' },
    os_env: null,
    pass_history: false,
    max_sessions: null,
    ...overrides,
  };
}
