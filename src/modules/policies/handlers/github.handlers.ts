import { PolicyDecision, PolicyHandlerDef } from 'src/modules/policies/engine/policy.types';
import {
  classifyMcp,
  classifyShell,
  GithubOp,
} from 'src/modules/policies/handlers/github-classify.util';
import { toolArgs, toolName } from 'src/modules/policies/handlers/handler-args.util';
import { commandsOf } from 'src/modules/policies/handlers/shell.handlers';
import { SHELL_TOOLS } from 'src/modules/policies/handlers/tool-names.constants';

const DEFAULT_MCP_PREFIXES = ['github__', 'mcp__github__', 'github_'];
const names = (max: number) => ({
  type: 'array',
  maxItems: max,
  items: { type: 'string', minLength: 1, maxLength: 256 },
  default: [],
});

/** `owner/name` against an allowlist entry (`owner/name` or `owner/*`), case-insensitively. */
function listed(repo: string, list: readonly string[]): boolean {
  return list.some((entry) => {
    const e = entry.toLowerCase();
    return e === repo || (e.endsWith('/*') && repo.startsWith(e.slice(0, -1)));
  });
}

/** A branch against an allowlist entry (exact, or a `prefix*` glob); an empty list allows any. */
function branchAllowed(branch: string, list: readonly string[]): boolean {
  return (
    list.length === 0 ||
    list.some((e) => (e.endsWith('*') ? branch.startsWith(e.slice(0, -1)) : e === branch))
  );
}

interface GithubParams {
  read_all: boolean;
  read_repos: string[];
  write_repos: string[];
  write_branches: string[];
  allow_destructive: boolean;
  deny_tag_push: boolean;
  deny_force_push: boolean;
}

/** The verdict on one operation: DENY outside the allowlists, ASK when the target is unknown. */
export function judgeGithubOp(op: GithubOp, p: GithubParams): PolicyDecision | undefined {
  const deny = (why: string): PolicyDecision => ({ result: 'DENY', reason: `${op.what}: ${why}` });
  const ask = (why: string): PolicyDecision => ({ result: 'ASK', reason: `${op.what}: ${why}` });
  if (op.force && p.deny_force_push) {
    return deny('force pushes are not allowed');
  }
  if (op.tag && p.deny_tag_push) {
    return deny('pushing tags is not allowed');
  }
  if (op.access === 'destructive' && !p.allow_destructive) {
    return deny('destructive GitHub operations are not allowed');
  }
  if (op.access === 'read') {
    if (p.read_all) {
      return undefined;
    }
    if (!op.repo) {
      return ask('cannot tell which repository it reads');
    }
    return listed(op.repo, [...p.read_repos, ...p.write_repos])
      ? undefined
      : deny(`reading ${op.repo} is not allowed`);
  }
  if (!op.repo) {
    return ask('cannot tell which repository it writes');
  }
  if (!listed(op.repo, p.write_repos)) {
    return deny(`writing to ${op.repo} is not allowed`);
  }
  if (op.branch && !branchAllowed(op.branch, p.write_branches)) {
    return deny(`writing to branch ${op.branch} is not allowed`);
  }
  if (!op.branch && p.write_branches.length > 0 && op.what === 'git push') {
    return ask('cannot tell which branch it pushes');
  }
  return undefined;
}

const githubPolicy: PolicyHandlerDef = {
  id: 'omnigent.policies.builtins.github.github_policy',
  kind: 'factory',
  name: 'GitHub Access',
  description:
    'Classifies GitHub MCP tool calls (by operation name: get_/list_/search_ read, delete_ ' +
    'destructive, the rest write) and shell `git`/`gh` commands into read, write and destructive ' +
    'operations on a repository and branch. Reads need read_all or read_repos/write_repos; ' +
    'writes need write_repos (owner/name or owner/*) and write_branches (empty = any); ' +
    'destructive operations need allow_destructive; force and tag pushes are denied by default. ' +
    'Outside the allowlists it denies; when the target cannot be told (a remote name, no -R) it ' +
    'asks. A subset of upstream: common commands and operation names.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      read_all: { type: 'boolean', default: true },
      read_repos: names(256),
      write_repos: names(256),
      write_branches: names(256),
      allow_destructive: { type: 'boolean', default: false },
      deny_tag_push: { type: 'boolean', default: true },
      deny_force_push: { type: 'boolean', default: true },
      mcp_tool_prefixes: { ...names(32), default: DEFAULT_MCP_PREFIXES },
      shell_tools: { ...names(100), default: [...SHELL_TOOLS] },
    },
  },
  phases: ['tool_call'],
  create: (params) => {
    const p = params as unknown as GithubParams & {
      mcp_tool_prefixes: string[];
      shell_tools: string[];
    };
    const shellTools = new Set(p.shell_tools);
    return (event) => {
      const mcp = classifyMcp(toolName(event), toolArgs(event), p.mcp_tool_prefixes);
      const ops = mcp
        ? [mcp]
        : commandsOf(event, shellTools)
            .map(classifyShell)
            .filter((op): op is GithubOp => op !== null);
      const verdicts = ops.map((op) => judgeGithubOp(op, p)).filter((v) => v !== undefined);
      return verdicts.find((v) => v.result === 'DENY') ?? verdicts[0];
    };
  },
};

export const GITHUB_HANDLERS: PolicyHandlerDef[] = [githubPolicy];
