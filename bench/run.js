#!/usr/bin/env node
'use strict';
// Runs a compiled benchmark from dist/bench with the absolute `src/…` imports resolved from dist.
const path = require('node:path');
const Module = require('node:module');

const dist = path.join(__dirname, '..', 'dist');
process.env.NODE_PATH = [dist, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
Module._initPaths();
require(path.join(dist, 'bench', `${process.argv[2] ?? 'list-scale'}.bench.js`));
