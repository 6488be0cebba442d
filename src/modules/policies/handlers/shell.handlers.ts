import { PolicyEvent, PolicyHandlerDef } from 'src/modules/policies/engine/policy.types';
import { firstString, toolArgs, toolName } from 'src/modules/policies/handlers/handler-args.util';
import { shellCommands } from 'src/modules/policies/handlers/shell-command.util';
import { SHELL_TOOLS } from 'src/modules/policies/handlers/tool-names.constants';

const BUILTINS = 'omnigent.policies.builtins';

const SYSTEM_DIRS = [
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib64',
  '/opt',
  '/proc',
  '/root',
  '/sbin',
  '/sys',
  '/usr',
  '/var',
  '/System',
  '/Library',
  '/Applications',
  '/Users',
];
const HOME_WORDS = new Set(['~', '~/', '$HOME', '${HOME}', '*', '/*', '.', './', '..']);
const DEPLOY_TOOLS = new Set(['kubectl', 'helm', 'terraform', 'databricks']);
const DEPLOY_VERBS = new Set(['apply', 'deploy', 'destroy', 'delete', 'uninstall']);

/** The command lines of a shell tool call (nothing for other tools). */
export function commandsOf(event: PolicyEvent, tools: ReadonlySet<string>): string[][] {
  if (!tools.has(toolName(event))) {
    return [];
  }
  const line = firstString(toolArgs(event), ['command', 'cmd', 'script']);
  return line ? shellCommands(line) : [];
}

function flags(argv: string[]): Set<string> {
  const out = new Set<string>();
  for (const arg of argv.slice(1)) {
    if (arg.startsWith('--')) {
      out.add(arg);
    } else if (arg.startsWith('-')) {
      [...arg.slice(1)].forEach((c) => out.add(`-${c}`));
    }
  }
  return out;
}

function normalize(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' && path.startsWith('/') ? '/' : trimmed;
}

function isSystemPath(path: string): boolean {
  const p = normalize(path);
  return (
    HOME_WORDS.has(path) ||
    SYSTEM_DIRS.includes(p) ||
    (p.startsWith('/') &&
      SYSTEM_DIRS.some((d) => d !== '/' && p.startsWith(`${d}/`)) &&
      !p.startsWith('/home/') &&
      !p.startsWith('/Users/') &&
      !p.startsWith('/tmp/') &&
      !p.startsWith('/var/tmp/'))
  );
}

type Blast = 'catastrophic' | 'risky' | null;

function gitBlast(args: string[]): Blast {
  const sub = args.find((a) => !a.startsWith('-'));
  const rest = args.slice(args.indexOf(sub ?? '') + 1);
  const f = flags(['git', ...rest]);
  if (sub === 'push') {
    const positional = rest.filter((a) => !a.startsWith('-'));
    const forced =
      f.has('-f') || f.has('--force') || [...f].some((x) => x.startsWith('--force-with-lease'));
    const deletes =
      f.has('-d') ||
      f.has('--delete') ||
      f.has('--mirror') ||
      f.has('--prune') ||
      positional.slice(1).some((r) => r.startsWith('+') || r.startsWith(':'));
    return forced || deletes ? 'catastrophic' : 'risky';
  }
  if (sub === 'reset' && f.has('--hard')) {
    return rest.some((a) => !a.startsWith('-') && a.includes('/')) ? 'catastrophic' : null;
  }
  return null;
}

function commandBlast(argv: string[]): Blast {
  const [name, ...args] = argv;
  if (name === 'git') {
    return gitBlast(args);
  }
  if (name === 'rm') {
    const f = flags(argv);
    const recursive = f.has('-r') || f.has('-R') || f.has('--recursive');
    const force = f.has('-f') || f.has('--force');
    if (!recursive) {
      return null;
    }
    const targets = args.filter((a) => !a.startsWith('-'));
    if (targets.some(isSystemPath) || f.has('--no-preserve-root')) {
      return 'catastrophic';
    }
    return force ? 'risky' : null;
  }
  if (name === 'gh') {
    const [group, verb] = args.filter((a) => !a.startsWith('-'));
    if (
      (group === 'pr' && verb === 'merge') ||
      group === 'release' ||
      (group === 'repo' && verb === 'delete')
    ) {
      return 'risky';
    }
    return null;
  }
  if (DEPLOY_TOOLS.has(name)) {
    return args.some((a) => DEPLOY_VERBS.has(a)) ? 'risky' : null;
  }
  return null;
}

const blastRadius: PolicyHandlerDef = {
  id: `${BUILTINS}.orchestration.blast_radius`,
  kind: 'factory',
  name: 'Blast Radius',
  description:
    'Shell commands by how far they reach: catastrophic ones (force push, deleting refs, rm -rf ' +
    'of system or home directories, git reset --hard to a remote) are always denied; outward ' +
    'but recoverable ones (git push, scoped rm -rf, gh pr merge/release/repo delete, deploys) ' +
    'get risky_action when gate_pushes. Sees through sudo, env, timeout, sh -c and chains.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      gate_pushes: { type: 'boolean', default: true },
      risky_action: { type: 'string', enum: ['ASK', 'DENY'], default: 'ASK' },
      deny_reason: {
        type: 'string',
        minLength: 1,
        maxLength: 1000,
        default: 'This command could cause irreversible damage outside the workspace.',
      },
    },
  },
  phases: ['tool_call'],
  create: (params) => (event) => {
    let risky: string | null = null;
    for (const argv of commandsOf(event, SHELL_TOOLS)) {
      const blast = commandBlast(argv);
      if (blast === 'catastrophic') {
        return { result: 'DENY', reason: `${params.deny_reason as string} (${argv.join(' ')})` };
      }
      risky = risky ?? (blast === 'risky' ? argv.join(' ') : null);
    }
    if (risky && params.gate_pushes) {
      return {
        result: params.risky_action as 'ASK' | 'DENY',
        reason: `This command reaches outside the workspace: ${risky}`,
      };
    }
    return undefined;
  },
};

function inside(dir: string, allowed: string[]): boolean {
  const d = normalize(dir);
  return allowed.some((a) => {
    const root = normalize(a);
    return d === root || d.startsWith(`${root}/`);
  });
}

/** Why a command changes the working directory, or null. */
function dirChange(
  argv: string[],
  params: { block_cd: boolean; block_worktree: boolean; allowed_dirs: string[] },
): string | null {
  const [name, ...args] = argv;
  if (['cd', 'chdir', 'pushd', 'popd'].includes(name) && params.block_cd) {
    const target = args.find((a) => !a.startsWith('-')) ?? '~';
    return name !== 'popd' && inside(target, params.allowed_dirs) ? null : `${name} ${target}`;
  }
  if (name !== 'git') {
    return null;
  }
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === '-C' && !inside(args[i + 1], params.allowed_dirs)) {
      return `git -C ${args[i + 1]}`;
    }
  }
  const positional = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '-C');
  if (
    params.block_worktree &&
    positional[0] === 'worktree' &&
    ['add', 'move', 'remove'].includes(positional[1])
  ) {
    return `git worktree ${positional[1]}`;
  }
  return null;
}

const blockWorkingDirChanges: PolicyHandlerDef = {
  id: `${BUILTINS}.working_dir.block_working_dir_changes`,
  kind: 'factory',
  name: 'Block Working Directory Changes',
  description:
    'Keeps shell commands in the session working directory: gates cd/chdir/pushd/popd and ' +
    '`git -C <dir>` outside allowed_dirs, and `git worktree add/move/remove`, in chained, ' +
    'wrapped and env-prefixed commands.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      block_cd: { type: 'boolean', default: true },
      block_worktree: { type: 'boolean', default: true },
      allowed_dirs: {
        type: 'array',
        items: { type: 'string', minLength: 1, maxLength: 4096 },
        maxItems: 100,
        default: [],
      },
      action: { type: 'string', enum: ['deny', 'ask'], default: 'deny' },
      shell_tools: {
        type: 'array',
        items: { type: 'string', minLength: 1, maxLength: 200 },
        maxItems: 100,
      },
    },
  },
  phases: ['tool_call'],
  create: (params) => {
    const tools = Array.isArray(params.shell_tools)
      ? new Set(params.shell_tools as string[])
      : SHELL_TOOLS;
    const options = {
      block_cd: params.block_cd as boolean,
      block_worktree: params.block_worktree as boolean,
      allowed_dirs: params.allowed_dirs as string[],
    };
    return (event) => {
      for (const argv of commandsOf(event, tools)) {
        const change = dirChange(argv, options);
        if (change) {
          return {
            result: params.action === 'ask' ? 'ASK' : 'DENY',
            reason: `Changing the working directory is not allowed here: ${change}`,
          };
        }
      }
      return undefined;
    };
  },
};

export const SHELL_HANDLERS: PolicyHandlerDef[] = [blastRadius, blockWorkingDirChanges];
