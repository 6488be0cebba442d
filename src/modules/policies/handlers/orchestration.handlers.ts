import { PolicyHandlerDef } from 'src/modules/policies/engine/policy.types';
import { firstString, toolArgs, toolName } from 'src/modules/policies/handlers/handler-args.util';
import {
  FILE_MUTATING_TOOLS,
  PATH_WRITE_TOOLS,
} from 'src/modules/policies/handlers/tool-names.constants';

const ORCHESTRATION = 'omnigent.policies.builtins.orchestration';

export const SPAWN_COUNT_KEY = '_policy_spawn_dispatches';

const reason = (fallback: string) => ({
  type: 'string',
  minLength: 1,
  maxLength: 1000,
  default: fallback,
});

const readOnlyOs: PolicyHandlerDef = {
  id: `${ORCHESTRATION}.read_only_os`,
  kind: 'factory',
  name: 'Read-Only OS',
  description:
    'Denies every file-mutating tool (write/edit tools of every harness, ours included).',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { deny_reason: reason('This agent is read-only: file changes are not allowed.') },
  },
  phases: ['tool_call'],
  create: (params) => (event) =>
    FILE_MUTATING_TOOLS.has(toolName(event))
      ? { result: 'DENY', reason: params.deny_reason as string }
      : undefined,
};

const worktreeGuard: PolicyHandlerDef = {
  id: `${ORCHESTRATION}.worktree_guard`,
  kind: 'factory',
  name: 'Worktree Guard',
  description:
    'Denies file writes/edits whose path is absolute or contains a `..` segment, keeping ' +
    'writes inside the working tree.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      allowed_root: { type: 'string', minLength: 1, maxLength: 500, default: '.worktrees' },
      deny_reason: reason('Writes must stay inside the working tree (no absolute paths or ..).'),
    },
  },
  phases: ['tool_call'],
  create: (params) => (event) => {
    if (!PATH_WRITE_TOOLS.has(toolName(event))) {
      return undefined;
    }
    const path = firstString(toolArgs(event), ['path', 'file_path', 'filePath']) ?? '';
    const escapes =
      path.startsWith('/') ||
      path.startsWith('~') ||
      /^[A-Za-z]:[\\/]/.test(path) ||
      path.split(/[\\/]/).includes('..');
    return escapes ? { result: 'DENY', reason: params.deny_reason as string } : undefined;
  },
};

const headlessSubagentPurposeGuard: PolicyHandlerDef = {
  id: `${ORCHESTRATION}.headless_subagent_purpose_guard`,
  kind: 'factory',
  name: 'Sub-agent Purpose Guard',
  description: 'Denies sys_session_send dispatches without an allowed `purpose` argument.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      allowed_purposes: {
        type: 'array',
        maxItems: 100,
        items: { type: 'string', minLength: 1, maxLength: 100 },
        default: ['implement', 'review', 'explore', 'search'],
      },
      deny_reason: reason('Sub-agent dispatches need an allowed purpose.'),
    },
  },
  phases: ['tool_call'],
  create: (params) => {
    const allowed = new Set(params.allowed_purposes as string[]);
    return (event) => {
      if (toolName(event) !== 'sys_session_send') {
        return undefined;
      }
      const purpose = toolArgs(event).purpose;
      return typeof purpose === 'string' && allowed.has(purpose)
        ? undefined
        : { result: 'DENY', reason: params.deny_reason as string };
    };
  },
};

const spawnBounds: PolicyHandlerDef = {
  id: `${ORCHESTRATION}.spawn_bounds`,
  kind: 'factory',
  name: 'Spawn Bounds',
  description: 'Denies sub-agent dispatches beyond `max_dispatches_per_turn` in one turn.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      dispatch_tools: {
        type: 'array',
        maxItems: 100,
        items: { type: 'string', minLength: 1, maxLength: 200 },
        default: ['sys_session_send'],
      },
      max_dispatches_per_turn: { type: 'integer', minimum: 0, maximum: 10_000, default: 5 },
    },
  },
  phases: ['tool_call'],
  create: (params) => {
    const tools = new Set(params.dispatch_tools as string[]);
    const max = params.max_dispatches_per_turn as number;
    return (event) => {
      if (!tools.has(toolName(event))) {
        return undefined;
      }
      // The counter is kept per turn: a new turn id starts it again.
      const turn = event.context.turn_id ?? '';
      const stored = event.session_state[SPAWN_COUNT_KEY] as { turn?: string; count?: number };
      const count = stored && stored.turn === turn ? Number(stored.count ?? 0) : 0;
      if (count >= max) {
        return { result: 'DENY', reason: `At most ${max} sub-agent dispatches per turn` };
      }
      return {
        result: 'ALLOW',
        state_updates: [{ key: SPAWN_COUNT_KEY, action: 'set', value: { count: count + 1, turn } }],
      };
    };
  },
};

export const ORCHESTRATION_HANDLERS: PolicyHandlerDef[] = [
  headlessSubagentPurposeGuard,
  readOnlyOs,
  spawnBounds,
  worktreeGuard,
];
