'use strict';
// The file tools' filesystem calls, run inside the tool sandbox (bubblewrap) so they see exactly
// what `shell` sees: the workspace read-write, the system read-only, nothing else. The runner has
// already checked each path against the workspace; running the call here makes a symlink swapped
// in after that check (a TOCTOU race) harmless, because nothing outside is reachable anyway.
//
// Plain CommonJS with node built-ins only: it runs as `node /.omnigent/fs-worker.js` in the
// sandbox, where neither the runner's code nor its node_modules are visible. Protocol: one JSON
// request per stdin line ({id, op, path, ...}), one JSON reply per stdout line
// ({id, result} or {id, error: {code, message}}); buffers travel as base64.
const fs = require('node:fs/promises');
const readline = require('node:readline');

const MAX_READ_BYTES = 1024 * 1024;

function describe(stat) {
  let type = 'other';
  if (stat.isSymbolicLink()) {
    type = 'link';
  } else if (stat.isDirectory()) {
    type = 'dir';
  } else if (stat.isFile()) {
    type = 'file';
  }
  return { type, size: stat.size, mtimeMs: stat.mtimeMs };
}

async function readRange(file, position, length) {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.max(0, Math.min(length, MAX_READ_BYTES)));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    return buffer.subarray(0, bytesRead).toString('base64');
  } finally {
    await handle.close();
  }
}

const OPS = {
  stat: async (req) => describe(await fs.stat(req.path)),
  lstat: async (req) => describe(await fs.lstat(req.path)),
  readlink: (req) => fs.readlink(req.path),
  readdir: (req) => fs.readdir(req.path),
  read: (req) => readRange(req.path, req.position, req.length),
  writeFile: async (req) => {
    await fs.writeFile(req.path, Buffer.from(req.data, 'base64'));
    return null;
  },
  mkdir: async (req) => {
    await fs.mkdir(req.path, { recursive: true });
    return null;
  },
};

function reply(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    return;
  }
  const op = Object.prototype.hasOwnProperty.call(OPS, request.op) ? OPS[request.op] : undefined;
  if (!op || typeof request.path !== 'string') {
    reply({ id: request.id, error: { code: 'EINVAL', message: `bad request ${request.op}` } });
    return;
  }
  Promise.resolve()
    .then(() => op(request))
    .then(
      (result) => reply({ id: request.id, result }),
      (error) =>
        reply({
          id: request.id,
          error: { code: error.code || 'EIO', message: String(error.message || error) },
        }),
    );
});
