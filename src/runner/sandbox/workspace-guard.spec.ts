import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { realPathOf, refusalFor } from 'src/runner/sandbox/workspace-guard';

describe(refusalFor.name, () => {
  let base: string;
  let rules: { root: string; protectedPaths: string[] };

  beforeEach(() => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-guard-')));
    const dataDir = path.join(base, 'data');
    fs.mkdirSync(path.join(dataDir, 'workspaces'), { recursive: true });
    rules = { root: path.join(dataDir, 'workspaces'), protectedPaths: [dataDir] };
  });

  afterEach(() => {
    fs.rmSync(base, { recursive: true, force: true });
  });

  const refuse = (dir: string) => refusalFor(dir, rules, 'the session workspace');

  it('should accept workspaces under the root and elsewhere outside the system', () => {
    expect(refuse(path.join(rules.root, 'conv_1'))).toBeNull();
    expect(refuse(path.join(rules.root, 'conv_1', 'deep'))).toBeNull();
    expect(refuse(path.join(base, 'project'))).toBeNull();
    expect(refuse('/home/alice/project')).toBeNull();
  });

  it('should refuse the root directory and system directories', () => {
    expect(refuse('/')).toBe("the session workspace '/' is the root directory");
    expect(refuse('/etc')).toBe("the session workspace '/etc' is inside the system directory /etc");
    expect(refuse('/usr/local/src')).toContain('inside the system directory /usr');
    expect(refuse('/proc/1')).toContain('/proc');
    expect(refuse('/var/lib/postgresql')).toContain('/var');
  });

  it("should refuse the runner's workspace root, the protected data directory and its ancestors", () => {
    expect(refuse(rules.root)).toContain("is the runner's workspace root");
    expect(refuse(path.dirname(rules.root))).toContain('would expose');
    expect(refuse(path.join(path.dirname(rules.root), 'pglite'))).toContain('would expose');
    expect(refuse(base)).toContain('would expose');
  });

  it('should judge a path by where its symlinks lead', () => {
    fs.symlinkSync('/etc', path.join(base, 'looks-harmless'));

    expect(realPathOf(path.join(base, 'looks-harmless', 'sub'))).toBe('/etc/sub');
    expect(refuse(realPathOf(path.join(base, 'looks-harmless', 'sub')))).toContain(
      'system directory /etc',
    );
  });
});
