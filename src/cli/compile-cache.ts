import { hash as oneShotHash, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { Script, constants } from 'node:vm';
import { crc32 } from 'node:zlib';

/**
 * A V8 code cache for the CommonJS modules a process loads (issue 12: warm start). Node 20 has
 * no built-in one (`module.enableCompileCache` is Node 22), so this is our own small hook on
 * `Module.prototype._compile`, in the style of the `v8-compile-cache` package: each module is
 * compiled as a `vm.Script` with the cached data stored for it, and after start-up the data of
 * the modules compiled from source is written back, functions compiled while starting included.
 *
 * A stale entry never runs: an entry is used only when the module's file name and the SHA-1 of
 * its source match (V8 itself checks only the length), its data's CRC-32 matches (V8 does not
 * check the payload in release builds), and V8 accepts it (its version and flags). The cache is
 * one file per V8 version, architecture and set of V8 flags; anything unreadable in it counts as
 * a miss. Nest and the other ES-module packages are not covered on Node 20 (its ES-module loader
 * takes no cached data); on Node 22 `module.enableCompileCache` is used instead and covers both.
 * On by default only there (the image); on Node 20 our hook is opt-in (`installCompileCache`).
 */

/**
 * OMNIGENT_COMPILE_CACHE: unset or `auto`, Node's own cache where Node has one (22+), else off;
 * `1`/`on`, also our hook on Node 20; a path, on and there; `0`/`off`/`false`, off.
 */
export const COMPILE_CACHE_ENV = 'OMNIGENT_COMPILE_CACHE';

const OFF = new Set(['0', 'false', 'off', 'no']);
const AUTO = new Set(['', 'auto']);
const ON = new Set([...AUTO, '1', 'true', 'on', 'yes']);
const MAGIC = Buffer.from('OMNIGENT-V8C-1\n\0');
// `import(` where it is not the end of a longer name or a method call.
const DYNAMIC_IMPORT = /(?<![\w$.])import\(/;
// Data of modules compiled from source is written once no module has compiled for this long.
const QUIET_MS = 1_000;
// What Node passes a CommonJS module's wrapper (Module.wrap).
type ModuleWrapper = (
  exports: unknown,
  require: NodeJS.Require,
  module: Module,
  filename: string,
  dirname: string,
) => unknown;

interface StoredEntry {
  hash: string;
  data: Buffer;
}

export interface CompileCacheStats {
  /** Compiled from the cache. */
  hits: number;
  /** Compiled from source (no entry, another source, or an entry V8 or the CRC refused). */
  misses: number;
  /** Entries refused: CRC-32 mismatch or rejected by V8. */
  rejected: number;
  /** Left to Node's own compile (dynamic import(), source maps on, not a script). */
  passed: number;
}

/** The cache directory, or null when switched off. `root` is the package root. */
export function compileCacheDir(env: NodeJS.ProcessEnv, root: string): string | null {
  const value = (env[COMPILE_CACHE_ENV] ?? '').trim();
  if (OFF.has(value.toLowerCase())) {
    return null;
  }
  if (ON.has(value.toLowerCase())) {
    return join(root, 'node_modules', '.cache', 'omnigent');
  }
  return resolve(value);
}

// Options that load code rather than change how V8 compiles it: they do not split the cache.
const PRELOADS = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader']);

/**
 * The cache file of this V8, architecture and command-line flags (V8 refuses data made under
 * other flags), preloads left out: a test's `--require <temp file>` gets no file of its own.
 */
export function compileCacheFile(dir: string, execArgv: string[], nodeOptions = ''): string {
  const flags: string[] = [];
  const args = [...execArgv, ...nodeOptions.split(/\s+/).filter(Boolean)];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].split('=')[0];
    if (PRELOADS.has(name)) {
      i += args[i].includes('=') ? 0 : 1;
    } else {
      flags.push(args[i]);
    }
  }
  const hash = sha1(flags.join('\0')).slice(0, 8);
  return join(dir, `v8-${process.versions.v8}-${process.arch}-${hash}.bin`);
}

function sha1(text: string): string {
  return typeof oneShotHash === 'function'
    ? oneShotHash('sha1', text)
    : createHash('sha1').update(text).digest('hex');
}

export class CompileCache {
  readonly stats: CompileCacheStats = { hits: 0, misses: 0, rejected: 0, passed: 0 };
  // Read on the first compile, dropped once start-up is over (read again if a module loads later).
  private stored: Map<string, StoredEntry> | undefined;
  private readonly produced = new Map<string, { hash: string; script: Script }>();
  private lastCompileAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string,
    private readonly quietMs = QUIET_MS,
  ) {}

  /**
   * The module's wrapper, compiled with its cached data when the cache holds this exact source;
   * null when Node should compile it itself (the caller then calls the original `_compile`).
   */
  compile(content: string, filename: string): ModuleWrapper | null {
    // import() from a vm.Script goes through an experimental loader option that warns when used:
    // leave such modules to Node (the option stays set below for an `import (` this misses).
    // `init_import(` or `x.import(` (the bundle, dist/omnigent.cjs, has both) is not one.
    if (DYNAMIC_IMPORT.test(content)) {
      this.stats.passed++;
      return null;
    }
    this.lastCompileAt = Date.now();
    this.whenQuiet();
    const hash = sha1(content);
    this.stored ??= readCacheFile(this.file);
    const entry = this.stored.get(filename);
    let cachedData: Buffer | undefined;
    if (entry && entry.hash === hash) {
      if (crc32(entry.data.subarray(4)) === entry.data.readUInt32LE(0)) {
        cachedData = entry.data.subarray(4);
      } else {
        this.stats.rejected++;
      }
    }
    let script: Script;
    try {
      script = new Script(Module.wrap(content), {
        filename,
        cachedData,
        importModuleDynamically: constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
      });
    } catch {
      // A syntax error, or ES-module syntax Node may load as such: Node's compile decides.
      this.stats.passed++;
      return null;
    }
    if (cachedData && !script.cachedDataRejected) {
      this.stats.hits++;
    } else {
      if (cachedData) {
        this.stats.rejected++;
      }
      this.stats.misses++;
      this.produced.set(filename, { hash, script });
    }
    return script.runInThisContext({ displayErrors: true }) as ModuleWrapper;
  }

  /**
   * Writes the data of the modules compiled from source since the last write (with what they
   * compiled since), keeping the file's other entries (other commands' modules, as another
   * process may have just written them). Atomic (a new file renamed over the old), so a
   * concurrent process reads one whole file or the other; a failure only loses the cache.
   */
  flush(): void {
    if (this.produced.size === 0) {
      return;
    }
    const entries = readCacheFile(this.file);
    for (const [filename, { hash, script }] of this.produced) {
      const data = script.createCachedData();
      const framed = Buffer.allocUnsafe(4 + data.length);
      framed.writeUInt32LE(crc32(data), 0);
      data.copy(framed, 4);
      entries.set(filename, { hash, data: framed });
    }
    this.produced.clear();
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(tmp, encodeCacheFile(entries));
      renameSync(tmp, this.file);
    } catch {
      // Read-only, full or not a directory: start-up just stays uncached.
      try {
        rmSync(tmp, { force: true });
      } catch {
        // nothing was written
      }
    }
  }

  /** Stops the pending write (tests). */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Once no module has compiled for `quietMs`: write, and drop the entries read. */
  private whenQuiet(): void {
    if (this.timer) {
      return;
    }
    const wait = (ms: number) => {
      this.timer = setTimeout(() => {
        const quiet = Date.now() - this.lastCompileAt;
        if (quiet < this.quietMs) {
          wait(this.quietMs - quiet);
          return;
        }
        this.timer = undefined;
        this.stored = undefined;
        try {
          this.flush();
        } catch {
          // Never worth failing the process for: the next start compiles from source again.
        }
      }, ms);
      this.timer.unref();
    };
    wait(this.quietMs);
  }
}

/** Index (file name, source hash, length) as JSON after the magic and its length; then the data. */
function encodeCacheFile(entries: Map<string, StoredEntry>): Buffer {
  const index = [...entries].map(([filename, { hash, data }]) => [filename, hash, data.length]);
  const json = Buffer.from(JSON.stringify(index));
  const head = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(head);
  head.writeUInt32LE(json.length, MAGIC.length);
  return Buffer.concat([head, json, ...[...entries.values()].map((e) => e.data)]);
}

function readCacheFile(file: string): Map<string, StoredEntry> {
  const entries = new Map<string, StoredEntry>();
  try {
    const buffer = readFileSync(file);
    if (!buffer.subarray(0, MAGIC.length).equals(MAGIC)) {
      return entries;
    }
    const jsonEnd = MAGIC.length + 4 + buffer.readUInt32LE(MAGIC.length);
    const index = JSON.parse(buffer.toString('utf8', MAGIC.length + 4, jsonEnd)) as [
      string,
      string,
      number,
    ][];
    let offset = jsonEnd;
    for (const [filename, hash, length] of index) {
      if (offset + length > buffer.length) {
        break;
      }
      entries.set(filename, { hash, data: buffer.subarray(offset, offset + length) });
      offset += length;
    }
  } catch {
    // Missing or unreadable: an empty cache.
  }
  return entries;
}

type CompileFn = (this: Module, content: string, filename: string, format?: string) => unknown;

interface ModuleInternals {
  prototype: { _compile: CompileFn };
  _cache: Record<string, Module>;
  _extensions: NodeJS.RequireExtensions;
  _resolveFilename(request: string, parent: Module, isMain: boolean, options?: unknown): string;
  _resolveLookupPaths(request: string, parent: Module): string[] | null;
  wrap(content: string): string;
  enableCompileCache?: (dir: string) => unknown;
}

export type CompileCacheMode = 'off' | 'node' | 'hook';

let installed: CompileCache | undefined;

/** The hook installed in this process, if any (its stats: tests and start-up timing). */
export function installedCompileCache(): CompileCache | undefined {
  return installed;
}

/**
 * Installs the cache for this process: Node's own on Node 22+, else our hook. Call before the
 * modules to cache are loaded (bin/omnigent.js does, first thing).
 */
export function installCompileCache(options: {
  env: NodeJS.ProcessEnv;
  root: string;
  module?: unknown;
}): { mode: CompileCacheMode; cache?: CompileCache } {
  const dir = compileCacheDir(options.env, options.root);
  const target = (options.module ?? Module) as ModuleInternals;
  const builtIn = typeof target.enableCompileCache === 'function';
  // Our hook is opt-in: on this server's start-up it measured within the noise of a shared
  // machine (docs/PERFORMANCE.md, Start-up), while it stands in for a piece of Node's loader.
  const auto = AUTO.has((options.env[COMPILE_CACHE_ENV] ?? '').trim().toLowerCase());
  // Under a policy manifest Node checks each module's integrity in `_compile`: keep Node's.
  const policy = [...process.execArgv, options.env.NODE_OPTIONS ?? ''].some((arg) =>
    /--(experimental-policy|policy-integrity)/.test(arg),
  );
  if (!dir || ((auto || policy) && !builtIn)) {
    return { mode: 'off' };
  }
  if (builtIn) {
    target.enableCompileCache?.(join(dir, 'node'));
    return { mode: 'node' };
  }
  const cache = new CompileCache(
    compileCacheFile(dir, process.execArgv, options.env.NODE_OPTIONS ?? ''),
  );
  const original = target.prototype._compile;
  const executing = executingSymbol(target);
  target.prototype._compile = function (content, filename, format) {
    const wrapper =
      format === 'module' || process.sourceMapsEnabled ? null : cache.compile(content, filename);
    if (!wrapper) {
      return original.call(this, content, filename, format);
    }
    return runWrapper(target, this, wrapper, filename, executing);
  };
  installed = cache;
  // Short commands exit before the quiet period: write what they compiled on the way out.
  process.once('exit', () => {
    try {
      cache.flush();
    } catch {
      // as above: only the cache is lost
    }
  });
  return { mode: 'hook', cache };
}

/** What Node's `Module.prototype._compile` does after compiling (Node 20's loader). */
function runWrapper(
  target: ModuleInternals,
  mod: Module,
  wrapper: ModuleWrapper,
  filename: string,
  executing: symbol | undefined,
): unknown {
  const require = function require(id: string) {
    return mod.require(id);
  } as NodeJS.Require;
  const resolveFilename = (request: string, options?: { paths?: string[] }) =>
    target._resolveFilename(request, mod, false, options);
  resolveFilename.paths = (request: string) => target._resolveLookupPaths(request, mod);
  require.resolve = resolveFilename as NodeJS.RequireResolve;
  require.main = process.mainModule;
  require.extensions = target._extensions;
  require.cache = target._cache;
  const flags = mod as unknown as Record<symbol, boolean>;
  if (executing) {
    flags[executing] = true;
  }
  try {
    return Reflect.apply(wrapper, mod.exports, [
      mod.exports,
      require,
      mod,
      filename,
      dirname(filename),
    ]);
  } finally {
    if (executing) {
      flags[executing] = false;
    }
  }
}

/**
 * Node marks a CommonJS module as executing (a private symbol) so that an ES module it requires
 * importing it back fails with ERR_REQUIRE_CYCLE_MODULE; found on a module Node compiled.
 */
function executingSymbol(target: ModuleInternals): symbol | undefined {
  for (const mod of Object.values(target._cache)) {
    const found = Object.getOwnPropertySymbols(mod).find((s) => s.description === 'kIsExecuting');
    if (found) {
      return found;
    }
  }
  return undefined;
}
