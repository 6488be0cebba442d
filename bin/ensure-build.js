#!/usr/bin/env node
'use strict';
// `npm start` runs this first: it builds only when a source is newer than the last successful
// build, so a second start does not spend seconds in the compiler. `--stamp` (run by
// `npm run build` after `nest build` succeeds) records that build.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const SOURCES = ['src', 'migrations', 'clients/typescript/src', 'console/src'];
const CONFIG_FILES = [
  'bin/bundle.js',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
  'package-lock.json',
  'console/index.html',
  'console/vite.config.mjs',
];

if (process.argv.includes('--stamp')) {
  fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
  process.exit(0);
}

/** The newest modification time under `dir` (files only), or 0. */
function newest(dir) {
  let latest = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      latest = Math.max(latest, newest(full));
    } else if (entry.isFile()) {
      latest = Math.max(latest, fs.statSync(full).mtimeMs);
    }
  }
  return latest;
}

function sourcesMtime() {
  const files = CONFIG_FILES.map((f) => path.join(root, f)).filter((f) => fs.existsSync(f));
  return Math.max(
    ...SOURCES.map((d) => newest(path.join(root, d))),
    ...files.map((f) => fs.statSync(f).mtimeMs),
  );
}

let built = 0;
try {
  built = fs.statSync(stamp).mtimeMs;
} catch {
  // never built (or the build did not finish)
}
if (built > 0 && built >= sourcesMtime()) {
  process.exit(0);
}
process.stderr.write(built ? 'Sources changed since the last build; building…\n' : 'Building…\n');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
