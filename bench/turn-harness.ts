/**
 * The turn baseline of `npm run bench`: the least a Node process can do to run a turn through the
 * reference runner (`omnigent runner`, the same program our server drives), with no database and
 * no framework: `node:http` + `ws`, run in its own process. Prints `Listening on http://…` once
 * bound. It speaks just enough of the runner protocol (spec/runner-protocol.md §3, §5, §6):
 *
 * - `GET /v1/runners/{id}/channel` (WebSocket, `omnigent.runner.v1`): answers `runner.hello`;
 *   relays every `session.event` notification to the session's SSE streams and acknowledges
 *   the durable ones (`session.ack`, once per event-loop turn); ignores `$/heartbeat`.
 * - `POST /v1/sessions`: mints a session id (nothing stored but the id).
 * - `GET /v1/sessions/{id}/stream`: `text/event-stream`, one frame per relayed event
 *   (`id:` a per-session counter, `event:` its type, `data:` the event as the runner sent it).
 * - `POST /v1/sessions/{id}/events` with a user message: `session.init` the first time the
 *   session is seen (the echo agent, empty history), then `turn.start`, and 202 once the
 *   runner answered it (as ours). Nothing is
 *   persisted, checked or validated beyond parsing the body: what is left is the runner round
 *   trip, the relay and the HTTP on both sides.
 */
import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

import { WebSocket, WebSocketServer } from 'ws';

interface Rpc {
  jsonrpc: '2.0';
  id?: number | string;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: unknown;
}

const id = (prefix: string) => `${prefix}_${randomBytes(16).toString('hex')}`;

/** Per session: its SSE responses, the last frame id, whether the runner has it, its acks. */
interface Session {
  streams: Set<ServerResponse>;
  seq: number;
  initialised: boolean;
  ack: number;
}
const sessions = new Map<string, Session>();
const session = (sid: string): Session => {
  let s = sessions.get(sid);
  if (!s) {
    s = { streams: new Set(), seq: 0, initialised: false, ack: 0 };
    sessions.set(sid, s);
  }
  return s;
};

let runner: WebSocket | undefined;
let nextRequest = 1;
const pending = new Map<number, (message: Rpc) => void>();
const toAck = new Set<string>();

function send(message: Rpc): void {
  runner?.send(JSON.stringify(message));
}

function request(method: string, params: Record<string, unknown>): Promise<Rpc> {
  const rid = nextRequest++;
  return new Promise((resolve) => {
    pending.set(rid, resolve);
    send({ jsonrpc: '2.0', id: rid, method, params });
  });
}

function onRunnerMessage(message: Rpc): void {
  if (message.method === undefined) {
    pending.get(Number(message.id))?.(message);
    pending.delete(Number(message.id));
  } else if (message.method === 'runner.hello') {
    send({
      jsonrpc: '2.0',
      id: message.id,
      result: {
        server_version: 'harness',
        connection_id: id('conn'),
        epoch: 1,
        heartbeat_s: 15,
        runner_id: '',
        sessions: [],
        verdicts: [],
      },
    });
  } else if (message.method === 'session.event') {
    const p = message.params as {
      session_id: string;
      seq: number;
      durable: boolean;
      event: { type: string };
    };
    const s = session(p.session_id);
    const frame = `id: ${++s.seq}\nevent: ${p.event.type}\ndata: ${JSON.stringify(p.event)}\n\n`;
    for (const res of s.streams) {
      res.write(frame);
    }
    if (p.durable) {
      s.ack = Math.max(s.ack, p.seq);
      if (toAck.size === 0) {
        setImmediate(flushAcks);
      }
      toAck.add(p.session_id);
    }
  } else if (message.id !== undefined) {
    send({
      jsonrpc: '2.0',
      id: message.id,
      error: { code: -32601, message: 'not in the harness' },
    });
  }
}

/** `session.ack` for every session that got durable events in this event-loop turn. */
function flushAcks(): void {
  for (const sid of toAck) {
    send({
      jsonrpc: '2.0',
      method: 'session.ack',
      params: { session_id: sid, seq: session(sid).ack },
    });
  }
  toAck.clear();
}

async function startTurn(sid: string, content: unknown[]): Promise<void> {
  const s = session(sid);
  if (!s.initialised) {
    s.initialised = true;
    await request('session.init', {
      session_id: sid,
      agent: {
        id: 'ag_harness',
        name: 'echo',
        version: 1,
        spec: { name: 'echo', executor: { harness: 'echo' } },
      },
      snapshot: {
        workspace: null,
        labels: {},
        model_override: null,
        reasoning_effort: null,
        parent_session_id: null,
      },
      history: [],
      next_seq: 1,
      policy: { tool_call: false, tool_result: false },
    });
  }
  // Like our server: the 202 waits for the runner's answer to turn.start.
  await request('turn.start', {
    session_id: sid,
    turn_id: id('resp'),
    input: { item_id: id('msg'), role: 'user', content },
    running_published: false,
    policy: { tool_call: false, tool_result: false },
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  const match = /^\/v1\/sessions\/([^/]+)\/(stream|events)$/.exec(path);
  if (req.method === 'POST' && path === '/v1/sessions') {
    req.resume();
    req.on('end', () => json(res, 201, { id: id('conv'), object: 'conversation' }));
  } else if (req.method === 'GET' && match?.[2] === 'stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const s = session(match[1]);
    s.streams.add(res);
    req.on('close', () => s.streams.delete(res));
  } else if (req.method === 'POST' && match?.[2] === 'events') {
    void readBody(req).then(async (text) => {
      const event = JSON.parse(text) as {
        type?: string;
        data?: { role?: string; content?: unknown[] };
      };
      if (event.type !== 'message' || event.data?.role !== 'user' || !runner) {
        json(res, 400, {
          error: { message: 'the harness takes user messages with a runner online' },
        });
        return;
      }
      await startTurn(match[1], event.data.content ?? []);
      json(res, 202, { id: match[1], object: 'conversation' });
    });
  } else {
    req.resume();
    json(res, 404, { error: { message: 'not in the harness' } });
  }
});
server.keepAliveTimeout = 60_000;

const wss = new WebSocketServer({ noServer: true, handleProtocols: () => 'omnigent.runner.v1' });
server.on('upgrade', (req, socket, head) => {
  if (!/^\/v1\/runners\/[^/]+\/channel$/.test((req.url ?? '').split('?')[0])) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    runner = ws;
    ws.on('message', (data) => {
      const parsed = JSON.parse(String(data)) as Rpc | Rpc[];
      for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
        onRunnerMessage(message);
      }
    });
    ws.on('close', () => {
      if (runner === ws) {
        runner = undefined;
      }
    });
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`Listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
