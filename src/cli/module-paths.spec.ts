import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { resolveSrcFromDist } from 'src/cli/module-paths';

describe(resolveSrcFromDist.name, () => {
  let root: string;
  let dist: string;
  let original: jest.Mock;
  let target: {
    _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
  };

  beforeEach(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'omnigent-module-paths-')));
    dist = join(root, 'dist');
    mkdirSync(join(dist, 'src', 'cli'), { recursive: true });
    writeFileSync(join(dist, 'src', 'cli', 'main.js'), '');
    original = jest.fn(() => 'from node');
    target = { _resolveFilename: original };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('should resolve a built src/ module to its file without asking Node', () => {
    resolveSrcFromDist(dist, target);
    expect(target._resolveFilename('src/cli/main', null, false)).toBe(
      join(dist, 'src', 'cli', 'main.js'),
    );
    expect(original).not.toHaveBeenCalled();
  });

  it.each([
    ['a directory', 'src/cli'],
    ['a missing module', 'src/cli/nope'],
    ['a package', 'pg'],
    ['a relative path', './src/cli/main'],
    ['a path out of src', 'src/../src/cli/main'],
  ])("should leave %s to Node's resolution", (_, request) => {
    resolveSrcFromDist(dist, target);
    expect(target._resolveFilename(request, null, false)).toBe('from node');
    expect(original).toHaveBeenCalledWith(request, null, false, undefined);
  });

  it("should leave require.resolve with options to Node's resolution", () => {
    resolveSrcFromDist(dist, target);
    expect(target._resolveFilename('src/cli/main', null, false, { paths: ['/x'] })).toBe(
      'from node',
    );
  });

  it('should answer the real path, as Node does, when dist is reached through a link', () => {
    const link = join(root, 'linked-dist');
    symlinkSync(dist, link);
    resolveSrcFromDist(link, target);
    expect(target._resolveFilename('src/cli/main', null, false)).toBe(
      join(dist, 'src', 'cli', 'main.js'),
    );
  });
});
