#!/usr/bin/env node
'use strict';
// Entry point for `omnigent` and `npm start`. The compiled code imports `src/...` absolutely
// (style rule 3); tsc does not rewrite those specifiers, so resolve them from dist/ here,
// once, before anything else is loaded.
const path = require('node:path');
const fs = require('node:fs');
const Module = require('node:module');

const distDir = path.join(__dirname, '..', 'dist');
const cliMain = path.join(distDir, 'src', 'cli', 'main.js');
if (!fs.existsSync(cliMain)) {
  process.stderr.write(
    'omnigent: the server is not built yet. Run `npm run build` (or `npm start`) in ' +
      path.join(__dirname, '..') +
      ' first.\n',
  );
  process.exit(1);
}
process.env.NODE_PATH = [distDir, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
Module._initPaths();
// Start-up (issue 12): `npm run build` also writes dist/omnigent.cjs (bin/bundle.js), the CLI and
// the packages it loads in one file, read and compiled once instead of ~1,900 modules. It runs
// the commands that load the server when it is up to date with dist/src (OMNIGENT_BUNDLE=1: every
// command; 0: none); else `src/…` resolves straight to dist/src.
const modulePaths = require(path.join(distDir, 'src', 'cli', 'module-paths.js'));
const bundle = modulePaths.bundleToRun(distDir, process.env, process.argv.slice(2));
if (!bundle) {
  modulePaths.resolveSrcFromDist(distDir);
}
// A V8 code cache for the modules loaded from here on (OMNIGENT_COMPILE_CACHE).
require(path.join(distDir, 'src', 'cli', 'compile-cache.js')).installCompileCache({
  env: process.env,
  root: path.join(__dirname, '..'),
});
(bundle ? modulePaths.requireBundle(bundle, module) : require(cliMain))
  .runCli(process.argv.slice(2))
  .then((code) => {
    // Long-running commands (serve, runner) keep the process alive through their handles.
    if (code !== 0) {
      process.exitCode = code;
    }
  });
