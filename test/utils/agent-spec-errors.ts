import { AgentSpecError, parseAgentSpec } from 'src/modules/registry/agent-spec';

/** Parsing `text` fails with an AgentSpecError whose message holds (or matches) `message`. */
export function expectSpecError(text: string, message: string | RegExp): void {
  expect(() => parseAgentSpec(text)).toThrow(AgentSpecError);
  expect(() => parseAgentSpec(text)).toThrow(message);
}
