/**
 * Classifies GitHub operations for `github.github_policy` (spec/policies.md §7 GitHub): `git` and
 * `gh` command lines and GitHub MCP tool calls become read / write / destructive operations with
 * the target repository (`owner/name`) and branch when they can be told, null when ambiguous.
 * A faithful subset of upstream's classifier: the common commands and MCP operation names.
 */

export type GithubAccess = 'read' | 'write' | 'destructive';

export interface GithubOp {
  access: GithubAccess;
  /** `owner/name`, lower-cased; null when the command does not say (a remote name, no -R). */
  repo: string | null;
  /** The branch written; null when not known (or not a branch write). */
  branch: string | null;
  force?: boolean;
  tag?: boolean;
  /** What it is, for reasons (`git push`, `gh pr merge`, the MCP tool). */
  what: string;
}

// Commands that read a remote; local ones (status, log, diff, commit, …) are no GitHub operation.
const GIT_READ = new Set(['fetch', 'pull', 'clone', 'ls-remote']);
const GH_READ_VERBS = new Set([
  'view',
  'list',
  'status',
  'diff',
  'checks',
  'search',
  'browse',
  'download',
  'watch',
]);
const GH_DESTRUCTIVE = new Set(['repo delete', 'release delete', 'issue delete', 'repo archive']);
const MCP_READ = /^(get|list|search|read|fetch|download)_/;
const MCP_DESTRUCTIVE = /^(delete|remove)_/;
const REPO_URL = /github\.com[/:]([^/\s]+)\/([^/\s]+?)(?:\.git)?\/?$/i;

/** `owner/name` of a GitHub URL or `owner/name` word, lower-cased; null otherwise. */
export function repoOf(word: string | undefined): string | null {
  if (!word) {
    return null;
  }
  const url = REPO_URL.exec(word);
  if (url) {
    return `${url[1]}/${url[2]}`.toLowerCase();
  }
  return /^[\w.-]+\/[\w.-]+$/.test(word) ? word.toLowerCase() : null;
}

function optionValue(argv: string[], names: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (names.includes(argv[i])) {
      return argv[i + 1];
    }
    const eq = names.find((n) => n.startsWith('--') && argv[i].startsWith(`${n}=`));
    if (eq) {
      return argv[i].slice(eq.length + 1);
    }
  }
  return undefined;
}

/** Positional words (flags and their values skipped: `--x=y`, `-x` alone). */
function positionals(argv: string[], withValue: string[] = []): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (withValue.includes(argv[i])) {
      i++;
    } else if (!argv[i].startsWith('-')) {
      out.push(argv[i]);
    }
  }
  return out;
}

function gitPush(args: string[]): GithubOp {
  const words = positionals(args, ['--repo', '-o', '--push-option', '--receive-pack']);
  const [remote, ...refspecs] = words;
  const force =
    args.some((a) => ['--force', '-f', '--force-with-lease', '--force-if-includes'].includes(a)) ||
    args.some((a) => a.startsWith('--force-with-lease=')) ||
    refspecs.some((r) => r.startsWith('+'));
  const deleting = args.includes('--delete') || args.includes('-d');
  const tag =
    args.includes('--tags') ||
    args.includes('--follow-tags') ||
    refspecs.some((r) => r.includes('refs/tags/') || r === 'tag');
  const targets = refspecs.map((r) => r.replace(/^\+/, '').split(':').pop() ?? '');
  const branch =
    targets.length === 1 && targets[0] && targets[0] !== 'HEAD'
      ? targets[0].replace(/^refs\/heads\//, '')
      : null;
  return {
    access: deleting || refspecs.some((r) => r.startsWith(':')) ? 'destructive' : 'write',
    repo: repoOf(optionValue(args, ['--repo']) ?? remote),
    branch,
    force,
    tag,
    what: 'git push',
  };
}

/** The GitHub operation of one simple command (`[name, ...args]`), or null when none. */
export function classifyShell(argv: string[]): GithubOp | null {
  const [name, ...rest] = argv;
  if (name === 'git') {
    const words = positionals(rest, ['-C', '-c', '--git-dir', '--work-tree']);
    const sub = words[0];
    const args = rest.slice(rest.indexOf(sub) + 1);
    if (sub === 'push') {
      return gitPush(args);
    }
    if (sub && GIT_READ.has(sub)) {
      // The remote (a URL says the repository; a remote name does not).
      return {
        access: 'read',
        repo: repoOf(positionals(args)[0]),
        branch: null,
        what: `git ${sub}`,
      };
    }
    return null;
  }
  if (name !== 'gh') {
    return null;
  }
  const repo = repoOf(optionValue(rest, ['-R', '--repo']));
  const [noun, verb] = positionals(rest, ['-R', '--repo', '-X', '--method']);
  if (!noun) {
    return null;
  }
  if (noun === 'api') {
    const method = (optionValue(rest, ['-X', '--method']) ?? '').toUpperCase();
    const hasFields = rest.some((a) =>
      ['-f', '-F', '--field', '--raw-field', '--input'].includes(a),
    );
    const path = positionals(rest, [
      '-X',
      '--method',
      '-f',
      '-F',
      '-H',
      '--field',
      '--raw-field',
    ])[1];
    const apiRepo = repo ?? repoOf(/^\/?repos\/([^/]+\/[^/]+)/.exec(path ?? '')?.[1]);
    const access: GithubAccess =
      method === 'DELETE'
        ? 'destructive'
        : method && method !== 'GET'
          ? 'write'
          : hasFields
            ? 'write'
            : 'read';
    return { access, repo: apiRepo, branch: null, what: 'gh api' };
  }
  const what = `gh ${noun}${verb ? ` ${verb}` : ''}`;
  const target = noun === 'repo' ? (repo ?? repoOf(positionals(rest)[2])) : repo;
  if (GH_DESTRUCTIVE.has(`${noun} ${verb}`)) {
    return { access: 'destructive', repo: target, branch: null, what };
  }
  if (!verb || GH_READ_VERBS.has(verb) || (noun === 'repo' && verb === 'clone')) {
    return { access: 'read', repo: target, branch: null, what };
  }
  const base = noun === 'pr' ? (optionValue(rest, ['-B', '--base']) ?? null) : null;
  return { access: 'write', repo: target, branch: base, what };
}

/** The operation of a GitHub MCP tool call (`<prefix><operation>`), or null for other tools. */
export function classifyMcp(
  tool: string,
  args: Record<string, unknown>,
  prefixes: readonly string[],
): GithubOp | null {
  const prefix = prefixes.find((p) => tool.startsWith(p));
  if (prefix === undefined) {
    return null;
  }
  const op = tool.slice(prefix.length);
  const text = (key: string) => (typeof args[key] === 'string' ? args[key] : undefined);
  const owner = text('owner');
  const name = text('repo') ?? text('repository');
  const repo = owner && name ? repoOf(`${owner}/${name}`) : repoOf(name);
  const access: GithubAccess = MCP_DESTRUCTIVE.test(op)
    ? 'destructive'
    : MCP_READ.test(op)
      ? 'read'
      : 'write';
  const branch = access === 'read' ? null : (text('branch') ?? text('base') ?? null);
  return { access, repo, branch, what: tool };
}
