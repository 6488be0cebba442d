import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { AgentSpec, parseAgentSpec } from 'src/modules/registry/agent-spec';

export interface BuiltinAgent {
  spec: AgentSpec;
  /** The file's text as is: it is what gets stored and sent to runners. */
  yaml: string;
}

// Lets a built-in spec keep long instructions in a sibling file (`instructions: coder.md`),
// confined to the agents folder.
function siblingReader(dir: string): (relPath: string) => string | undefined {
  const root = path.resolve(dir);
  return (relPath) => {
    const target = path.resolve(root, relPath);
    if (!target.startsWith(root + path.sep)) {
      return undefined;
    }
    try {
      return statSync(target).isFile() ? readFileSync(target, 'utf8') : undefined;
    } catch {
      return undefined;
    }
  };
}

/**
 * Loads every `*.yaml` / `*.yml` spec in dir, sorted by file name. Any invalid spec or repeated
 * agent name throws (naming the file), because a broken built-in agent must stop start-up.
 */
export function loadBuiltinAgents(dir: string): BuiltinAgent[] {
  const readBundleFile = siblingReader(dir);
  const fileNames = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
    .map((entry) => entry.name)
    .sort();
  const origins = new Map<string, string>();
  return fileNames.map((fileName) => {
    const yaml = readFileSync(path.join(dir, fileName), 'utf8');
    let spec: AgentSpec;
    try {
      spec = parseAgentSpec(yaml, { readBundleFile });
    } catch (err) {
      throw new Error(`built-in agent ${fileName}: ${(err as Error).message}`, { cause: err });
    }
    const previous = origins.get(spec.name);
    if (previous !== undefined) {
      throw new Error(
        `built-in agent ${fileName}: name ${spec.name} is already used by ${previous}`,
      );
    }
    origins.set(spec.name, fileName);
    return { spec, yaml };
  });
}
