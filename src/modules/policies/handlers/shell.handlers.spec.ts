import { evaluatePolicies } from 'src/modules/policies/engine/policy-engine.util';
import { shellCommands } from 'src/modules/policies/handlers/shell-command.util';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';
import { toolCallEvent } from 'test/factories/policy.factory';

const registry = new PolicyRegistryService();
const policy = (id: string, params?: Record<string, unknown>) =>
  registry.bind(
    { name: id, handler: `omnigent.policies.builtins.${id}`, factoryParams: params },
    'spec',
  );
const run = (p: ReturnType<typeof policy>, command: string, tool = 'shell') =>
  evaluatePolicies([p], toolCallEvent(tool, { command })).result;

describe('shellCommands', () => {
  it('should split chains and unwrap wrappers, assignments and sh -c', () => {
    expect(
      shellCommands(`cd x && A=1 sudo -u root env B=2 timeout -s 9 5 bash -c 'git push -f' | cat`),
    ).toEqual([['cd', 'x'], ['git', 'push', '-f'], ['cat']]);
  });

  it('should honour quotes, escapes, comments and command substitution', () => {
    expect(shellCommands(`echo "a; b" 'c && d' e\\;f # rm -rf /`)).toEqual([
      ['echo', 'a; b', 'c && d', 'e;f'],
    ]);
    expect(shellCommands('echo $(git push origin) ${HOME}')).toEqual([
      ['echo'],
      ['git', 'push', 'origin'],
      ['${HOME}'],
    ]);
  });
});

describe('blast_radius', () => {
  const p = policy('orchestration.blast_radius');

  it('should always deny catastrophic commands, however wrapped', () => {
    expect(run(p, 'git push --force origin main')).toBe('DENY');
    expect(run(p, 'git push origin +main')).toBe('DENY');
    expect(run(p, 'git push origin :feature')).toBe('DENY');
    expect(run(p, 'cd /tmp && sudo rm -rf /')).toBe('DENY');
    expect(run(p, "bash -c 'rm -rf /etc/nginx'")).toBe('DENY');
    expect(run(p, 'rm -fr ~')).toBe('DENY');
    expect(run(p, 'git fetch && git reset --hard origin/main', 'Bash')).toBe('DENY');
  });

  it('should ask before outward but recoverable commands, and allow the rest', () => {
    expect(run(p, 'git push origin feature')).toBe('ASK');
    expect(run(p, 'rm -rf build/')).toBe('ASK');
    expect(run(p, 'gh pr merge 12 --squash')).toBe('ASK');
    expect(run(p, 'kubectl apply -f deploy.yaml')).toBe('ASK');
    expect(run(p, 'git status && ls -la && rm notes.txt')).toBe('ALLOW');
    expect(run(p, 'git reset --hard HEAD~1')).toBe('ALLOW');
    expect(evaluatePolicies([p], toolCallEvent('read_file', { path: '/' })).result).toBe('ALLOW');
  });

  it('should deny risky commands with risky_action DENY and allow them without gate_pushes', () => {
    expect(run(policy('orchestration.blast_radius', { risky_action: 'DENY' }), 'git push')).toBe(
      'DENY',
    );
    expect(run(policy('orchestration.blast_radius', { gate_pushes: false }), 'git push')).toBe(
      'ALLOW',
    );
  });
});

describe('block_working_dir_changes', () => {
  const p = policy('working_dir.block_working_dir_changes');

  it('should deny cd, git -C and worktree changes in chained and wrapped commands', () => {
    expect(run(p, 'cd /tmp')).toBe('DENY');
    expect(run(p, 'ls && pushd src')).toBe('DENY');
    expect(run(p, 'FOO=1 git -C ../other status')).toBe('DENY');
    expect(run(p, "sh -c 'git worktree add ../wt main'")).toBe('DENY');
    expect(run(p, 'git status && npm test')).toBe('ALLOW');
  });

  it('should allow cd into allowed_dirs, ask with action ask, and honour the toggles', () => {
    const allowed = policy('working_dir.block_working_dir_changes', {
      allowed_dirs: ['/work/repo'],
      action: 'ask',
    });
    expect(run(allowed, 'cd /work/repo/src && make')).toBe('ALLOW');
    expect(run(allowed, 'git -C /work/repo status')).toBe('ALLOW');
    expect(run(allowed, 'cd /work/repository')).toBe('ASK');
    const toggled = policy('working_dir.block_working_dir_changes', {
      block_cd: false,
      block_worktree: false,
    });
    expect(run(toggled, 'cd /tmp && git worktree add ../x')).toBe('ALLOW');
  });

  it('should only look at the configured shell tools', () => {
    const p2 = policy('working_dir.block_working_dir_changes', { shell_tools: ['my_shell'] });
    expect(run(p2, 'cd /tmp', 'shell')).toBe('ALLOW');
    expect(run(p2, 'cd /tmp', 'my_shell')).toBe('DENY');
  });
});
