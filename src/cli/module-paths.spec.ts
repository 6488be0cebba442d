import {
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { bundleToRun, requireBundle, resolveSrcFromDist } from 'src/cli/module-paths';

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

describe(bundleToRun.name, () => {
  let dist: string;
  let bundle: string;
  const serve = ['serve'];

  beforeEach(() => {
    dist = realpathSync(mkdtempSync(join(tmpdir(), 'omnigent-bundle-')));
    mkdirSync(join(dist, 'src', 'cli'), { recursive: true });
    writeFileSync(join(dist, 'src', 'cli', 'main.js'), '');
    bundle = join(dist, 'omnigent.cjs');
    writeFileSync(bundle, '');
    utimesSync(bundle, 2_000, 2_000);
    utimesSync(join(dist, 'src', 'cli', 'main.js'), 1_000, 1_000);
  });
  afterEach(() => rmSync(dist, { recursive: true, force: true }));

  it.each([['serve'], ['migrate'], ['sync-openapi', '--check']])(
    'should run `%s` from the bundle when it is as new as the compiled CLI or newer',
    (...argv) => {
      expect(bundleToRun(dist, {}, argv)).toBe(bundle);
      expect(bundleToRun(dist, { OMNIGENT_BUNDLE: 'auto' }, argv)).toBe(bundle);
      utimesSync(bundle, 1_000, 1_000);
      expect(bundleToRun(dist, {}, argv)).toBe(bundle);
    },
  );

  it.each([['runner', '--server', 'x'], ['chat'], ['token'], ['--version'], []])(
    'should run `%s` from dist/src unless OMNIGENT_BUNDLE=1',
    (...argv) => {
      expect(bundleToRun(dist, {}, argv)).toBeNull();
      expect(bundleToRun(dist, { OMNIGENT_BUNDLE: '1' }, argv)).toBe(bundle);
      expect(bundleToRun(dist, { OMNIGENT_BUNDLE: ' On ' }, argv)).toBe(bundle);
    },
  );

  it('should run dist/src when the CLI was compiled after the bundle', () => {
    utimesSync(bundle, 1_000, 1_000);
    utimesSync(join(dist, 'src', 'cli', 'main.js'), 2_000, 2_000);
    expect(bundleToRun(dist, {}, serve)).toBeNull();
    expect(bundleToRun(dist, { OMNIGENT_BUNDLE: '1' }, serve)).toBeNull();
  });

  it.each(['0', 'off', 'false', ' NO '])('should run dist/src with OMNIGENT_BUNDLE=%s', (value) => {
    expect(bundleToRun(dist, { OMNIGENT_BUNDLE: value }, serve)).toBeNull();
  });

  it('should run dist/src without a bundle', () => {
    rmSync(bundle);
    expect(bundleToRun(dist, {}, serve)).toBeNull();
    expect(bundleToRun(dist, { OMNIGENT_BUNDLE: '1' }, serve)).toBeNull();
  });
});

describe(requireBundle.name, () => {
  // Node's own module cache (Jest gives the spec a `require.cache` of its own).
  const nodeCache = (Module as unknown as { _cache: Record<string, NodeJS.Module | undefined> })
    ._cache;
  let dir: string;

  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'omnigent-bundle-')));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('should load the file as a CommonJS module, registered as require would', () => {
    const file = join(dir, 'a.cjs');
    writeFileSync(file, 'exports.where = __filename; exports.paths = module.paths;');
    const loaded = requireBundle(file, module) as { where: string; paths: string[] };
    try {
      expect(loaded.where).toBe(file);
      expect(loaded.paths[0]).toBe(join(dir, 'node_modules'));
      expect((nodeCache[file] as NodeJS.Module).exports).toBe(loaded);
    } finally {
      delete nodeCache[file];
    }
  });

  it('should read text that is not ASCII as UTF-8', () => {
    const file = join(dir, 'b.cjs');
    writeFileSync(file, "module.exports = 'é ✓ 😀';");
    try {
      expect(requireBundle(file, module)).toBe('é ✓ 😀');
    } finally {
      delete nodeCache[file];
    }
  });

  it('should not register a file that fails to load', () => {
    const file = join(dir, 'c.cjs');
    writeFileSync(file, "throw new Error('broken');");
    expect(() => requireBundle(file, module)).toThrow('broken');
    expect(nodeCache[file]).toBeUndefined();
  });
});
