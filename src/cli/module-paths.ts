import { isAscii } from 'node:buffer';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';

interface ResolvingModule {
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
}

/**
 * Resolves the built code's absolute `src/…` specifiers (style rule 3) straight to
 * `<dist>/src/….js`. Through NODE_PATH alone, Node first looks for each one in every
 * `node_modules` folder above the requiring file (~8 failed lookups, each a stat per extension,
 * for each of ~900 imports at start-up: ~70–90 ms of a warm start; issue 12). A specifier that is
 * not a built file (a directory, a missing module) still goes through Node's resolution, so its
 * errors stay Node's; NODE_PATH stays set for `require.resolve` with options and child processes.
 */
export function resolveSrcFromDist(distDir: string, module: unknown = Module): void {
  const target = module as ResolvingModule;
  const dist = realpathSync(distDir);
  const original = target._resolveFilename;
  target._resolveFilename = function (request, parent, isMain, options) {
    if (options === undefined && request.startsWith('src/') && !request.includes('..')) {
      const file = join(dist, `${request}.js`);
      if (statSync(file, { throwIfNoEntry: false })?.isFile()) {
        return file;
      }
    }
    return original.call(this, request, parent, isMain, options);
  };
}

/**
 * OMNIGENT_BUNDLE: unset or `auto`, dist/omnigent.cjs for the commands that load the server;
 * `1`/`on`, for every command; `0`/`off`, never. Either way only when it is up to date.
 */
export const BUNDLE_ENV = 'OMNIGENT_BUNDLE';
const BUNDLE_OFF = new Set(['0', 'false', 'off', 'no']);
const BUNDLE_ON = new Set(['1', 'true', 'on', 'yes']);
/**
 * The commands that load the server's modules. The others load a small part of them (the
 * runner ~0.55 s of CPU to its connection, `--version` 0.16 s), less than compiling the whole
 * bundle costs them (+0.1 s and +0.26 s): they run dist/src unless OMNIGENT_BUNDLE=1.
 */
const SERVER_COMMANDS = new Set(['serve', 'migrate', 'sync-openapi']);

/**
 * The single-file build of the CLI (`dist/omnigent.cjs`, written by bin/bundle.js after
 * `nest build`) when it should run `argv` (the CLI's arguments): a command that loads the server
 * (or any, with OMNIGENT_BUNDLE=1), and the bundle present and at least as new as the compiled
 * CLI beside it — a later `tsc` into dist/ makes it stale, and then dist/src runs, as without a
 * bundle. Null means dist/src.
 */
export function bundleToRun(
  distDir: string,
  env: NodeJS.ProcessEnv,
  argv: readonly string[],
): string | null {
  const setting = (env[BUNDLE_ENV] ?? '').trim().toLowerCase();
  const command = argv.find((arg) => !arg.startsWith('-'));
  if (BUNDLE_OFF.has(setting) || (!BUNDLE_ON.has(setting) && !SERVER_COMMANDS.has(command ?? ''))) {
    return null;
  }
  const bundle = join(distDir, 'omnigent.cjs');
  const bundled = statSync(bundle, { throwIfNoEntry: false });
  const cli = statSync(join(distDir, 'src', 'cli', 'main.js'), { throwIfNoEntry: false });
  return bundled?.isFile() && cli && bundled.mtimeMs >= cli.mtimeMs ? bundle : null;
}

interface LoadableModule {
  filename: string;
  paths: string[];
  loaded: boolean;
  exports: unknown;
  _compile(content: string, filename: string): unknown;
}

interface ModuleClass {
  new (id: string, parent?: unknown): LoadableModule;
  _cache: Record<string, unknown>;
  _nodeModulePaths(dir: string): string[];
}

/**
 * Loads the bundle as `require` would, but reads an ASCII file (bin/bundle.js writes it so) as
 * one-byte text: Node 20's `require` decodes every file as UTF-8, which for this one ~9 MB file
 * costs ~60–100 ms more at start-up. The compile goes through `Module.prototype._compile`, so a
 * code cache (src/cli/compile-cache.ts, Node 22's own) covers it as any module.
 */
export function requireBundle(file: string, parent?: unknown, module: unknown = Module): unknown {
  const ModuleClass = module as ModuleClass;
  const bytes = readFileSync(file);
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const bundle = new ModuleClass(file, parent);
  bundle.filename = file;
  bundle.paths = ModuleClass._nodeModulePaths(dirname(file));
  ModuleClass._cache[file] = bundle;
  try {
    bundle._compile(source, file);
  } catch (error) {
    delete ModuleClass._cache[file];
    throw error;
  }
  bundle.loaded = true;
  return bundle.exports;
}
