import WebSocket from 'ws';

import { JsonRpcPeer, RPC_DISCONNECTED, RpcError } from 'src/protocol/json-rpc';
import {
  CloseCode,
  FATAL_CLOSE_CODES,
  Methods,
  RUNNER_SUBPROTOCOL,
} from 'src/protocol/runner-protocol';

export interface RunnerChannelOptions {
  /** ws(s)://…/v1/runners/{id}/channel */
  url: string;
  /** The WebSocket subprotocol (default the runner's; the host daemon uses its own). */
  subprotocol?: string;
  headers: Record<string, string>;
  heartbeatMs: number;
  log(message: string): void;
  onOpen(channel: RunnerChannel): Promise<void>;
  onRequest(method: string, params: unknown): Promise<unknown>;
  onNotification(method: string, params: unknown): void;
  onDown(): void;
  /** The server refused us for good (auth, protocol): stop trying. */
  onFatal(reason: string): void;
}

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 10_000;

/**
 * The runner's side of the channel (spec/runner-protocol.md §3): connect, `$/heartbeat`, the 3H
 * watchdog, and reconnect with backoff (0.5 s → 10 s, ±50 % jitter) unless the close is fatal.
 */
export class RunnerChannel {
  private socket?: WebSocket;
  private peer?: JsonRpcPeer;
  private ready = false;
  private stopped = false;
  private backoff = BACKOFF_START_MS;
  private timer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private lastInbound = 0;
  private lastOutbound = 0;
  private waiters: (() => void)[] = [];

  private heartbeatMs: number;

  constructor(private readonly options: RunnerChannelOptions) {
    this.heartbeatMs = options.heartbeatMs;
  }

  /** Adopts the server's heartbeat period (from the `runner.hello` answer). */
  setHeartbeat(ms: number): void {
    if (ms > 0 && ms !== this.heartbeatMs && this.socket) {
      this.heartbeatMs = ms;
      this.startHeartbeat(this.socket);
    }
  }

  get isReady(): boolean {
    return this.ready;
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.timer);
    this.socket?.close(1000, 'runner stopping');
    this.peer?.close('runner stopping');
  }

  /**
   * A request to the server; waits (up to the timeout) for the channel to be up first. A call
   * cut off by a reconnect (the connection closed before the answer) is sent again on the next
   * connection within the same deadline: the runner→server requests (`tool.authorize`,
   * `session.history`, `file.get`) are idempotent, and a tool call must not fail because the
   * network blinked while it was being authorised.
   */
  async request<T>(method: string, params: unknown, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.waitReady(Math.max(1, deadline - Date.now()));
      const peer = this.peer;
      if (!peer) {
        throw new RpcError(RPC_DISCONNECTED, 'not connected');
      }
      try {
        return await peer.request<T>(method, params, Math.max(1, deadline - Date.now()));
      } catch (error) {
        const cutOff =
          error instanceof RpcError && error.code === RPC_DISCONNECTED && peer.isClosed;
        if (!cutOff || this.stopped || Date.now() >= deadline) {
          throw error;
        }
      }
    }
  }

  /** Sends a notification if connected; returns whether it went out. */
  notify(method: string, params: unknown): boolean {
    if (!this.ready || !this.peer) {
      return false;
    }
    this.peer.notify(method, params);
    return true;
  }

  /** Marks the channel usable once `runner.hello` was answered (by onOpen). */
  markReady(): void {
    this.ready = true;
    this.backoff = BACKOFF_START_MS;
    for (const wake of this.waiters.splice(0)) {
      wake();
    }
  }

  /** During onOpen: the raw request before the channel is marked ready (used for runner.hello). */
  helloRequest<T>(method: string, params: unknown, timeoutMs: number): Promise<T> {
    if (!this.peer) {
      return Promise.reject(new RpcError(RPC_DISCONNECTED, 'not connected'));
    }
    return this.peer.request<T>(method, params, timeoutMs);
  }

  private waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(new RpcError(RPC_DISCONNECTED, 'not connected to the server'));
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  private connect(): void {
    if (this.stopped) {
      return;
    }
    const socket = new WebSocket(this.options.url, this.options.subprotocol ?? RUNNER_SUBPROTOCOL, {
      headers: this.options.headers,
      handshakeTimeout: 15_000,
      maxPayload: 16 * 1024 * 1024,
    });
    this.socket = socket;
    const peer = new JsonRpcPeer({
      send: (text) => {
        this.lastOutbound = Date.now();
        socket.send(text);
      },
      onRequest: (method, params) => this.options.onRequest(method, params),
      onNotification: (method, params) => {
        if (method !== Methods.heartbeat) {
          this.options.onNotification(method, params);
        }
      },
      onProtocolError: (error) => this.options.log(`protocol error: ${error.message}`),
    });
    socket.on('open', () => {
      this.peer = peer;
      this.lastInbound = Date.now();
      this.startHeartbeat(socket);
      this.options.onOpen(this).catch((error: Error) => {
        this.options.log(`handshake failed: ${error.message}`);
        socket.close(CloseCode.ProtocolError, 'handshake failed');
      });
    });
    socket.on('message', (data) => {
      this.lastInbound = Date.now();
      peer.handleFrame(data.toString());
    });
    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        const message = safeMessage(body) ?? res.statusMessage ?? '';
        if ([401, 403, 404, 409].includes(status)) {
          this.options.onFatal(`the server refused the connection (HTTP ${status}): ${message}`);
          this.stop();
        } else {
          this.options.log(`server answered HTTP ${status}; retrying`);
        }
      });
    });
    socket.on('error', (error) => this.options.log(`connection error: ${error.message}`));
    socket.on('close', (code, reason) => {
      clearInterval(this.timer);
      peer.close('connection closed');
      const wasReady = this.ready;
      this.ready = false;
      this.peer = undefined;
      if (wasReady) {
        this.options.onDown();
      }
      if (this.stopped) {
        return;
      }
      if (FATAL_CLOSE_CODES.includes(code)) {
        this.options.onFatal(`the server closed the channel (${code} ${reason.toString()})`);
        this.stop();
        return;
      }
      if (code === CloseCode.Replaced) {
        // Another process now holds this runner id (newest wins). Reconnecting would evict it in
        // turn and the two would take the id from each other forever, so this one steps aside.
        this.options.onFatal('another runner connected with the same runner id (newest wins)');
        this.stop();
        return;
      }
      this.scheduleReconnect(code);
    });
  }

  private scheduleReconnect(code: number): void {
    const immediate = code === CloseCode.ServerShutdown || code === 1001 || code === 1012;
    if (immediate) {
      this.backoff = BACKOFF_START_MS;
    }
    const jitter = 0.5 + Math.random();
    const delay = Math.round(this.backoff * jitter);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.options.log(`disconnected (code ${code}); reconnecting in ${delay} ms`);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private startHeartbeat(socket: WebSocket): void {
    const h = this.heartbeatMs;
    clearInterval(this.timer);
    this.timer = setInterval(
      () => {
        const now = Date.now();
        if (now - this.lastInbound > 3 * h) {
          this.options.log('no message from the server for 3 heartbeats; reconnecting');
          socket.terminate();
        } else if (now - this.lastOutbound >= h && this.peer) {
          this.peer.notify(Methods.heartbeat, { ts: now });
        }
      },
      Math.max(50, Math.floor(h / 3)),
    );
  }
}

function safeMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return body.slice(0, 200) || undefined;
  }
}
