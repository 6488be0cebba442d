'use strict';
// Jest runs global setup/teardown outside its module registry, so moduleNameMapper does not apply
// there: resolve the absolute `src/…` and `test/…` imports from the repository root instead.
const path = require('node:path');
const Module = require('node:module');

const root = path.join(__dirname, '..');
if (!(process.env.NODE_PATH ?? '').split(path.delimiter).includes(root)) {
  process.env.NODE_PATH = [root, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  Module._initPaths();
}

module.exports = {
  setup: () => require('./global-setup.ts').default(),
  teardown: () => require('./global-teardown.ts').default(),
};
