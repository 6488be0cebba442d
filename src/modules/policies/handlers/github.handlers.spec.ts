import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { classifyShell } from 'src/modules/policies/handlers/github-classify.util';
import { shellCommands } from 'src/modules/policies/handlers/shell-command.util';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { toolCallEvent } from 'test/factories/policy.factory';

const HANDLER = 'omnigent.policies.builtins.github.github_policy';
const registry = new PolicyRegistryService();
const policy = (params: Record<string, unknown> = {}) =>
  registry.bind({ name: 'gh', handler: HANDLER, factoryParams: params }, 'session');
const params = {
  read_all: false,
  read_repos: ['acme/docs'],
  write_repos: ['acme/app', 'acme-labs/*'],
  write_branches: ['main', 'feature/*'],
};
const shell = (command: string, p: Record<string, unknown> = params) =>
  evaluatePolicies([policy(p)], toolCallEvent('shell', { command }));
const mcp = (tool: string, args: Record<string, unknown>, p: Record<string, unknown> = params) =>
  evaluatePolicies([policy(p)], toolCallEvent(tool, args));

describe('github.github_policy', () => {
  it.each([
    ['git push https://github.com/acme/app.git main', 'ALLOW'],
    ['git push git@github.com:acme/app.git HEAD:feature/x', 'ALLOW'],
    ['git push https://github.com/acme-labs/tool feature/y', 'ALLOW'],
    ['git push https://github.com/acme/app.git release', 'DENY'],
    ['git push https://github.com/other/app.git main', 'DENY'],
    ['git push origin main', 'ASK'],
    ['git push https://github.com/acme/app.git', 'ASK'],
    ['git push -f https://github.com/acme/app.git main', 'DENY'],
    ['git push https://github.com/acme/app.git +main', 'DENY'],
    ['git push --force-with-lease=main https://github.com/acme/app.git main', 'DENY'],
    ['git push --tags https://github.com/acme/app.git', 'DENY'],
    ['git push https://github.com/acme/app.git :main', 'DENY'],
    ['git push --delete https://github.com/acme/app.git main', 'DENY'],
    ['cd x && sudo env A=1 bash -c "git push -f origin main"', 'DENY'],
    ['git fetch https://github.com/acme/docs', 'ALLOW'],
    ['git clone https://github.com/secret/repo', 'DENY'],
    ['git fetch origin', 'ASK'],
    ['git commit -m x && git status', 'ALLOW'],
    ['gh pr view 1 -R acme/docs', 'ALLOW'],
    ['gh pr create -R acme/app -B main -t x', 'ALLOW'],
    ['gh pr create -R acme/app -B release -t x', 'DENY'],
    ['gh pr merge 3 --repo acme/app', 'ALLOW'],
    ['gh pr merge 3', 'ASK'],
    ['gh issue comment 3 -R other/x -b hi', 'DENY'],
    ['gh repo delete acme/app --yes', 'DENY'],
    ['gh release delete v1 -R acme/app', 'DENY'],
    ['gh api repos/acme/docs/issues', 'ALLOW'],
    ['gh api -X POST repos/acme/app/issues -f title=x', 'ALLOW'],
    ['gh api repos/other/x/issues -f title=x', 'DENY'],
    ['gh api -X DELETE repos/acme/app/issues/1', 'DENY'],
    ['ls -la', 'ALLOW'],
  ])('%s → %s', (command, verdict) => {
    expect(shell(command).result).toBe(verdict);
  });

  it('should allow every read with read_all (the default) and no writes without write_repos', () => {
    expect(shell('git clone https://github.com/secret/repo', {}).result).toBe('ALLOW');
    expect(shell('gh pr create -R acme/app -t x', {})).toMatchObject({
      result: 'DENY',
      reason: 'gh pr create: writing to acme/app is not allowed',
    });
  });

  it('should allow destructive operations only with allow_destructive, still on listed repos', () => {
    const p = { ...params, allow_destructive: true };
    expect(shell('gh repo delete acme/app --yes', p).result).toBe('ALLOW');
    expect(shell('gh repo delete other/app --yes', p).result).toBe('DENY');
  });

  it.each([
    ['github__get_file_contents', { owner: 'acme', repo: 'docs', path: 'a' }, 'ALLOW'],
    ['github__get_file_contents', { owner: 'secret', repo: 'x' }, 'DENY'],
    ['mcp__github__create_pull_request', { owner: 'acme', repo: 'app', base: 'main' }, 'ALLOW'],
    ['mcp__github__create_pull_request', { owner: 'acme', repo: 'app', base: 'prod' }, 'DENY'],
    ['github__push_files', { owner: 'acme', repo: 'app', branch: 'feature/a' }, 'ALLOW'],
    ['github__create_issue', { title: 'x' }, 'ASK'],
    ['github__delete_file', { owner: 'acme', repo: 'app', branch: 'main' }, 'DENY'],
    ['gitlab__create_issue', { owner: 'acme', repo: 'x' }, 'ALLOW'],
  ])('MCP %s %j → %s', (tool, args, verdict) => {
    expect(mcp(tool, args).result).toBe(verdict);
  });

  it('should name the operation and the reason', () => {
    expect(shell('git push -f origin main')).toMatchObject({
      result: 'DENY',
      reason: 'git push: force pushes are not allowed',
    });
    expect(classifyShell(shellCommands('git push origin HEAD:refs/heads/dev')[0])).toMatchObject({
      access: 'write',
      repo: null,
      branch: 'dev',
    });
  });

  it.each([
    [{ write_repos: 'acme/app' }, /write_repos must be array/],
    [{ allow_force: true }, /unknown key 'allow_force'/],
  ])('should refuse params %j', (bad, message) => {
    expect(() => registry.validateParams(HANDLER, bad)).toThrow(message);
  });
});
