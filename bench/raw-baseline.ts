/**
 * The raw `node:http` baseline of `npm run bench`: the least a Node process can do to answer the
 * same bytes as our server, run in its own process like ours. Configured by a JSON file
 * (argv[2]) holding the recorded responses; prints `Listening on http://…` once bound.
 *
 * - GET <recorded path>: the recorded body with its content type (keep-alive).
 * - GET /stream: an SSE response that writes the recorded ack frame and then a heartbeat frame
 *   after every `heartbeatMs`, like the session stream does when idle.
 * - POST /go: answers at once, then writes the recorded frames of one turn to every open stream,
 *   one frame at a time to all of them, yielding to the event loop between frames (the server
 *   gets the runner's deltas one by one too).
 */
import { readFileSync } from 'node:fs';
import { createServer, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

interface RawConfig {
  routes: { path: string; contentType: string; body: string }[];
  ack: string;
  heartbeat: string;
  heartbeatMs: number;
  frames: string[];
}

const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as RawConfig;
const routes = new Map(
  config.routes.map((r) => [r.path, { type: r.contentType, body: Buffer.from(r.body) }]),
);
const streams = new Set<ServerResponse>();

async function fanOut(): Promise<void> {
  for (const frame of config.frames) {
    for (const res of streams) {
      res.write(frame);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

setInterval(() => {
  for (const res of streams) {
    res.write(config.heartbeat);
  }
}, config.heartbeatMs).unref();

const server = createServer((req, res) => {
  if (req.url === '/stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(config.ack);
    streams.add(res);
    req.on('close', () => streams.delete(res));
    return;
  }
  if (req.method === 'POST' && req.url === '/go') {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
      void fanOut();
    });
    return;
  }
  const route = routes.get(req.url ?? '');
  if (!route) {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': route.type, 'content-length': route.body.length });
  res.end(route.body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`Listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
