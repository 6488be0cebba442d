import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import {
  CompileCache,
  compileCacheDir,
  compileCacheFile,
  installCompileCache,
} from 'src/cli/compile-cache';

/** Runs a compiled module wrapper the way Node's `_compile` does; returns its exports. */
function run(cache: CompileCache, content: string, filename: string): unknown {
  const wrapper = cache.compile(content, filename);
  if (!wrapper) {
    throw new Error('not compiled by the cache');
  }
  const mod = { exports: {} } as Module;
  wrapper(mod.exports, require, mod, filename, dirname(filename));
  return mod.exports;
}

describe(CompileCache.name, () => {
  let dir: string;
  let file: string;
  // V8 also keeps compiled scripts per process: fresh source per test, so its data is used.
  let tag: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omnigent-compile-cache-'));
    file = join(dir, 'cache.bin');
    tag = randomBytes(6).toString('hex');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('should compile from source, write on flush, then compile from the cache', () => {
    const source = `module.exports = { tag: '${tag}', sum: (a, b) => a + b };`;
    const first = new CompileCache(file);
    expect(run(first, source, '/app/a.js')).toMatchObject({ tag });
    expect(first.stats).toMatchObject({ hits: 0, misses: 1 });
    first.flush();

    const second = new CompileCache(file);
    const exports = run(second, source, '/app/a.js') as { sum(a: number, b: number): number };
    expect(exports.sum(2, 3)).toBe(5);
    expect(second.stats).toMatchObject({ hits: 1, misses: 0, rejected: 0 });
  });

  it('should recompile a changed file of the same length, never run its old code', () => {
    const before = `module.exports = 'old-${tag}';`;
    const after = `module.exports = 'new-${tag}';`;
    expect(after.length).toBe(before.length);
    const first = new CompileCache(file);
    run(first, before, '/app/b.js');
    first.flush();

    const second = new CompileCache(file);
    expect(run(second, after, '/app/b.js')).toBe(`new-${tag}`);
    expect(second.stats).toMatchObject({ hits: 0, misses: 1 });
    // The entry is replaced by the new source's on the next write.
    second.flush();
    const third = new CompileCache(file);
    expect(run(third, after, '/app/b.js')).toBe(`new-${tag}`);
    expect(third.stats.hits).toBe(1);
  });

  it('should ignore a corrupt entry (V8 does not check the payload) and a garbage file', () => {
    const source = `module.exports = '${tag}';`;
    const first = new CompileCache(file);
    run(first, source, '/app/c.js');
    first.flush();
    const bytes = readFileSync(file);
    bytes[bytes.length - 8] ^= 0xff; // inside the entry's code cache data
    writeFileSync(file, bytes);

    const second = new CompileCache(file);
    expect(run(second, source, '/app/c.js')).toBe(tag);
    expect(second.stats).toMatchObject({ hits: 0, misses: 1, rejected: 1 });

    writeFileSync(file, randomBytes(4096));
    const third = new CompileCache(file);
    expect(run(third, source, '/app/c.js')).toBe(tag);
    expect(third.stats).toMatchObject({ hits: 0, misses: 1 });
    writeFileSync(file, bytes.subarray(0, 40)); // truncated
    expect(run(new CompileCache(file), source, '/app/c.js')).toBe(tag);
  });

  it("should keep the other files' entries when writing", () => {
    const one = new CompileCache(file);
    run(one, `module.exports = 1; // ${tag}`, '/app/one.js');
    one.flush();
    const two = new CompileCache(file);
    run(two, `module.exports = 2; // ${tag}`, '/app/two.js');
    two.flush();

    const both = new CompileCache(file);
    run(both, `module.exports = 1; // ${tag}`, '/app/one.js');
    run(both, `module.exports = 2; // ${tag}`, '/app/two.js');
    expect(both.stats.hits).toBe(2);
  });

  it("should leave dynamic import() and syntax errors to Node's own compile", () => {
    const cache = new CompileCache(file);
    expect(cache.compile(`module.exports = () => import('x');`, '/app/d.js')).toBeNull();
    expect(cache.compile('export const x = 1;', '/app/e.js')).toBeNull();
    expect(cache.stats).toMatchObject({ passed: 2, hits: 0, misses: 0 });
  });

  it('should compile a module whose only `import(` ends a longer name or a method (the bundle)', () => {
    const cache = new CompileCache(file);
    const content = `function init_import() { return 'a'; }
const loader = { ['import']: () => 'b' };
module.exports = init_import() + loader.import() + '${tag}';`;
    expect(run(cache, content, '/app/bundle.cjs')).toBe(`ab${tag}`);
    expect(cache.stats).toMatchObject({ passed: 0, misses: 1 });
  });

  it('should write nothing, and not fail, where the directory cannot be written', () => {
    writeFileSync(join(dir, 'blocked'), '');
    const cache = new CompileCache(join(dir, 'blocked', 'cache.bin'));
    run(cache, `module.exports = '${tag}';`, '/app/f.js');
    expect(() => cache.flush()).not.toThrow();
  });
});

describe(installCompileCache.name, () => {
  const root = '/srv/omnigent';

  function fakeModule(extra: object = {}) {
    const original = jest.fn(function (this: Module) {
      this.exports = 'from node';
    });
    return {
      original,
      target: {
        prototype: { _compile: original },
        _cache: {},
        _extensions: {},
        _resolveFilename: jest.fn(),
        _resolveLookupPaths: jest.fn(),
        wrap: Module.wrap,
        ...extra,
      },
    };
  }

  function expectUnhooked(env: NodeJS.ProcessEnv): void {
    const { target, original } = fakeModule();
    const result = installCompileCache({ env, root, module: target });
    expect(result.mode).toBe('off');
    expect(target.prototype._compile).toBe(original);
  }

  it.each([undefined, '', 'auto'])('should leave our hook off on Node 20 with %p', (value) => {
    expectUnhooked({ OMNIGENT_COMPILE_CACHE: value });
  });

  it.each(['0', 'off', 'false', 'OFF'])('should stay off with %s, hooking nothing', (value) => {
    expectUnhooked({ OMNIGENT_COMPILE_CACHE: value });
  });

  it('should leave Node its own compile under a policy manifest, even when asked for', () => {
    expectUnhooked({
      OMNIGENT_COMPILE_CACHE: '1',
      NODE_OPTIONS: '--experimental-policy=/etc/policy.json',
    });
  });

  it('should put the cache under node_modules/.cache by default, or where the variable says', () => {
    expect(compileCacheDir({}, root)).toBe(join(root, 'node_modules', '.cache', 'omnigent'));
    expect(compileCacheDir({ OMNIGENT_COMPILE_CACHE: '1' }, root)).toBe(
      join(root, 'node_modules', '.cache', 'omnigent'),
    );
    expect(compileCacheDir({ OMNIGENT_COMPILE_CACHE: '/var/cache/omnigent' }, root)).toBe(
      '/var/cache/omnigent',
    );
    // One file per V8 version and set of flags: V8 refuses data made under others.
    const plain = compileCacheFile('/c', []);
    expect(plain).toContain(process.versions.v8);
    expect(compileCacheFile('/c', ['--max-old-space-size=512'])).not.toBe(plain);
    expect(compileCacheFile('/c', ['-r', '/tmp/a.js'], '--require=/tmp/b.js --import /c.mjs')).toBe(
      plain,
    );
  });

  it("should use Node's own compile cache where there is one (Node 22), by default", () => {
    const enableCompileCache = jest.fn();
    const { target, original } = fakeModule({ enableCompileCache });
    const result = installCompileCache({ env: {}, root, module: target });
    expect(result.mode).toBe('node');
    expect(
      installCompileCache({ env: { OMNIGENT_COMPILE_CACHE: '0' }, root, module: target }).mode,
    ).toBe('off');
    expect(enableCompileCache).toHaveBeenCalledTimes(1);
    expect(enableCompileCache).toHaveBeenCalledWith(
      join(root, 'node_modules', '.cache', 'omnigent', 'node'),
    );
    expect(target.prototype._compile).toBe(original);
  });

  it("should compile through the cache, and pass ES modules and import() to Node's compile", () => {
    const dir = mkdtempSync(join(tmpdir(), 'omnigent-compile-cache-'));
    const exits = process.listeners('exit');
    try {
      const { target, original } = fakeModule();
      const result = installCompileCache({
        env: { OMNIGENT_COMPILE_CACHE: dir },
        root,
        module: target,
      });
      expect(result.mode).toBe('hook');
      const compile = target.prototype._compile as (
        this: Module,
        content: string,
        filename: string,
        format?: string,
      ) => unknown;
      const mod = new Module('/app/g.js');
      compile.call(mod, `module.exports = { dir: __dirname, req: typeof require };`, '/app/g.js');
      expect(mod.exports).toEqual({ dir: '/app', req: 'function' });
      expect(original).not.toHaveBeenCalled();

      const esm = new Module('/app/h.js');
      compile.call(esm, 'export default 1;', '/app/h.js', 'module');
      compile.call(esm, `module.exports = () => import('x');`, '/app/h.js');
      expect(original).toHaveBeenCalledTimes(2);
      expect(result.cache?.stats).toMatchObject({ misses: 1, passed: 1 });
      result.cache?.dispose();
    } finally {
      for (const listener of process.listeners('exit')) {
        if (!exits.includes(listener)) {
          process.off('exit', listener);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
