import { realpathSync, statSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';

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
