import { PolicyHandlerDef } from 'src/modules/policies/engine/policy.types';
import { toolArgs, toolName } from 'src/modules/policies/handlers/handler-args.util';
import { SANDBOX_TYPES } from 'src/protocol/agent-spec';

const SAFETY = 'omnigent.policies.builtins.safety';

/** The synthetic tool call upstream makes when an agent starts (its `arguments.sandbox`). */
export const AGENT_START_TOOL = 'sys_agent_start';
/** The sandbox keys a policy may set or keep; anything else in the agent's sandbox is dropped. */
export const SANDBOX_KEYS = [
  'type',
  'allow_network',
  'write_paths',
  'read_paths',
  'env_passthrough',
] as const;

// Absent (upstream: null) keeps the agent's value; env_passthrough absent = inherit.
const pathList = {
  type: 'array',
  maxItems: 256,
  items: { type: 'string', minLength: 1, maxLength: 4096 },
};

/**
 * `enforce_sandbox` (spec/policies.md §7): on the synthetic `sys_agent_start` call it ALLOWs with
 * rewritten `data` whose `arguments.sandbox` is the agent's sandbox (allowlisted keys only) with
 * this policy's settings laid over it. Absent list params keep the agent's value.
 */
const enforceSandbox: PolicyHandlerDef = {
  id: `${SAFETY}.enforce_sandbox`,
  kind: 'factory',
  name: 'Enforce Sandbox',
  description:
    'Forces the agent sandbox on the synthetic sys_agent_start call: sandbox_type, ' +
    'allow_network, and (when set) write_paths, read_paths and env_passthrough override the ' +
    "agent's own; other sandbox keys are dropped. Our runner makes no sys_agent_start call: the " +
    'rewrite applies where a caller evaluates one (POST …/policies/evaluate).',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      sandbox_type: {
        type: 'string',
        enum: SANDBOX_TYPES.filter((t) => t !== 'none'),
        default: 'linux_bwrap',
      },
      allow_network: { type: 'boolean', default: true },
      write_paths: pathList,
      read_paths: pathList,
      env_passthrough: pathList,
    },
  },
  phases: ['tool_call'],
  create: (params) => (event) => {
    if (toolName(event) !== AGENT_START_TOOL) {
      return undefined;
    }
    const args = toolArgs(event);
    const own =
      args.sandbox && typeof args.sandbox === 'object' && !Array.isArray(args.sandbox)
        ? (args.sandbox as Record<string, unknown>)
        : {};
    const sandbox: Record<string, unknown> = {};
    for (const key of SANDBOX_KEYS) {
      if (own[key] !== undefined) {
        sandbox[key] = own[key];
      }
    }
    sandbox.type = params.sandbox_type;
    sandbox.allow_network = params.allow_network;
    for (const key of ['write_paths', 'read_paths', 'env_passthrough'] as const) {
      if (params[key] !== undefined) {
        sandbox[key] = [...(params[key] as string[])];
      }
    }
    return {
      result: 'ALLOW',
      data: { name: AGENT_START_TOOL, arguments: { ...args, sandbox } },
    };
  },
};

export const SANDBOX_HANDLERS: PolicyHandlerDef[] = [enforceSandbox];
