import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * `.ci/run`'s verdict on what `npm test` printed: `npm test` runs Jest twice (the tiers, then
 * the bench guard alone), and a run that passes must have printed both `Tests:` summaries (Jest
 * once exited 0 without running anything: spec/stack.md §5). Everything it calls is stubbed
 * on PATH, so only its own logic runs.
 */
describe('.ci/run', () => {
  let bin: string;

  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'omnigent-ci-run-'));
    const stub = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    for (const name of ['pg_isready', 'redis-cli', 'bwrap', 'apt-get', 'sudo']) {
      stub(name, 'exit 0');
    }
    // `npm ci` does nothing; `npm test` prints FAKE_OUTPUT and exits FAKE_STATUS.
    stub('npm', '[ "$1" = ci ] && exit 0\nprintf "%b" "$FAKE_OUTPUT"\nexit "$FAKE_STATUS"');
  });

  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  const run = (output: string, status: number) => {
    const result = spawnSync('bash', [join(ROOT, '.ci', 'run')], {
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        FAKE_OUTPUT: output,
        FAKE_STATUS: String(status),
      },
      encoding: 'utf8',
    });
    return { status: result.status, stderr: result.stderr };
  };
  const tiers = 'Tests:       120 passed, 120 total\\n';
  const guard = 'Tests:       3 passed, 3 total\\n';

  it('should pass when both Jest runs passed and printed their summaries', () => {
    expect(run(tiers + guard, 0).status).toBe(0);
  });

  it('should fail a passing npm test that printed only one summary', () => {
    const result = run(tiers, 0);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("printed 1 'Tests:' summary of the 2 runs");
  });

  it('should fail when Jest printed no summary at all', () => {
    const result = run('', 0);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("no 'Tests:' summary");
  });

  it("should keep npm test's failure when a run failed (the guard is not reached)", () => {
    expect(run('Tests:       1 failed, 119 passed, 120 total\\n', 1).status).toBe(1);
    expect(run(tiers + 'Tests:       1 failed, 2 passed, 3 total\\n', 1).status).toBe(1);
  });
});
