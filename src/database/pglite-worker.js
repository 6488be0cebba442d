'use strict';
// Embedded PostgreSQL: PGlite served over a loopback socket, in a worker thread so that its WASM
// work never stalls the HTTP event loop (spec/stack.md §3). Plain CJS so it runs unchanged from
// src/ (Jest) and dist/ (tsc copies it with allowJs).
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { PGlite } = require('@electric-sql/pglite');
const { PGLiteSocketServer } = require('@electric-sql/pglite-socket');

(async () => {
  const db = await PGlite.create(
    workerData.loadDataDir
      ? { loadDataDir: new Blob([fs.readFileSync(workerData.loadDataDir)]) }
      : { dataDir: workerData.dataDir },
  );
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await server.start();
  parentPort.postMessage({ port: Number(server.getServerConn().split(':').pop()) });
  parentPort.once('message', async (message) => {
    try {
      await server.stop();
      if (message && message.dumpTo) {
        const dump = await db.dumpDataDir('none');
        fs.writeFileSync(message.dumpTo, Buffer.from(await dump.arrayBuffer()));
      }
      await db.close();
      parentPort.postMessage({ stopped: true });
    } catch (error) {
      parentPort.postMessage({
        stopped: false,
        error: String(error && error.stack ? error.stack : error),
      });
    }
  });
})().catch((error) => {
  parentPort.postMessage({ error: String(error && error.stack ? error.stack : error) });
});
