import { randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';
import WebSocket from 'ws';

import { JsonRpcPeer, RPC_METHOD_NOT_FOUND, RPC_OVERLOADED, RpcError } from 'src/protocol/json-rpc';
import { CloseCode, HelloParams, Methods } from 'src/protocol/runner-protocol';

export interface RunnerConnectionOptions {
  runnerId: string;
  ownerId: string;
  heartbeatMs: number;
  limits: RunnerChannelLimits;
  onRequest(connection: RunnerConnection, method: string, params: unknown): Promise<unknown>;
  onNotification(connection: RunnerConnection, method: string, params: unknown): void;
  onClose(connection: RunnerConnection, code: number): void;
}

/** Per-connection limits (docs/SECURITY.md, "Runner channel limits"). */
export interface RunnerChannelLimits {
  maxBatch: number;
  maxMessagesPerSecond: number;
  maxPendingRequests: number;
}

/** Requests of one connection that run at once; the rest wait their turn (bounded above). */
const REQUEST_CONCURRENCY = 4;

/**
 * One runner's WebSocket: JSON-RPC both ways, the `$/heartbeat` every H and the 3H watchdog
 * (spec/runner-protocol.md §3). Knows nothing about sessions.
 *
 * One connection must not stall the server (issue 16, finding 3): inbound messages are rate
 * limited (token bucket, 2 s of burst; past it the channel closes with 4006), a batch frame is
 * capped, requests run at most REQUEST_CONCURRENCY at a time with a bounded queue (past it a
 * JSON-RPC error, no work done), and a consumer can pause reading (`holdReading`) while it
 * catches up, so the socket's backlog stays in the kernel and the runner, not in our heap.
 */
export class RunnerConnection {
  readonly connectionId = randomUUID();
  readonly runnerId: string;
  readonly ownerId: string;
  epoch = 0;
  hello?: HelloParams;
  /** Turns handed to this connection before its hello was reconciled (see `endHelloWindow`). */
  private helloTurns?: Set<string> = new Set();
  private readonly logger = new Logger('RunnerConnection');
  private readonly peer: JsonRpcPeer;
  private lastInbound = Date.now();
  private lastOutbound = Date.now();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private tokens: number;
  private refilledAt = Date.now();
  private pendingRequests = 0;
  private runningRequests = 0;
  private readonly waitingRequests: (() => void)[] = [];
  private readonly holds = new Set<string>();

  constructor(
    private readonly socket: WebSocket,
    private readonly options: RunnerConnectionOptions,
  ) {
    this.runnerId = options.runnerId;
    this.ownerId = options.ownerId;
    this.tokens = 2 * options.limits.maxMessagesPerSecond;
    this.peer = new JsonRpcPeer({
      maxBatch: options.limits.maxBatch,
      admit: (messages) => this.admit(messages),
      send: (text) => {
        this.lastOutbound = Date.now();
        socket.send(text);
      },
      onRequest: (method, params) => this.limitRequest(method, params),
      onNotification: (method, params) => {
        if (method !== Methods.heartbeat) {
          this.options.onNotification(this, method, params);
        }
      },
      onProtocolError: (error) => this.logger.warn(`${this.runnerId}: ${error.message}`),
    });
    socket.on('message', (data, isBinary) => {
      if (this.closed) {
        // Closed by us (a limit, a protocol error): frames still buffered are not read, so a
        // flood past the rate costs nothing after the close (issue 16, finding 3).
        return;
      }
      this.lastInbound = Date.now();
      if (isBinary) {
        this.close(CloseCode.ProtocolError, 'binary frames are not supported');
        return;
      }
      this.peer.handleFrame(data.toString());
    });
    socket.on('close', (code) => this.handleClose(code));
    socket.on('error', (error) =>
      this.logger.warn(`${this.runnerId} socket error: ${error.message}`),
    );
    const h = options.heartbeatMs;
    this.timer = setInterval(
      () => {
        const now = Date.now();
        // A connection we stopped reading is not silent: its frames wait in the socket.
        if (this.holds.size > 0) {
          this.lastInbound = now;
        }
        if (now - this.lastInbound > 3 * h) {
          this.close(CloseCode.HeartbeatTimeout, 'heartbeat timeout');
        } else if (now - this.lastOutbound >= h) {
          this.peer.notify(Methods.heartbeat, { ts: now });
        }
      },
      Math.max(50, Math.floor(h / 3)),
    );
    this.timer.unref();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  request<T>(method: string, params: unknown, timeoutMs: number): Promise<T> {
    return this.peer.request<T>(method, params, timeoutMs);
  }

  notify(method: string, params: unknown): void {
    this.peer.notify(method, params);
  }

  /**
   * Records a turn the server is about to hand to this connection. Until the hello is
   * reconciled, a turn started meanwhile can look like one the runner lost (it is busy on this
   * runner, and the hello did not claim it); the record tells the two apart.
   */
  noteTurn(turnId: string): void {
    this.helloTurns?.add(turnId);
  }

  /** Ends the hello window: the turns handed to this connection during it; nothing is recorded after. */
  endHelloWindow(): ReadonlySet<string> {
    const turns = this.helloTurns ?? new Set<string>();
    this.helloTurns = undefined;
    return turns;
  }

  /**
   * Stops reading the socket until every hold is released (back-pressure: the runner's frames
   * wait in TCP buffers while a consumer catches up). `key` names the holder.
   */
  holdReading(key: string): void {
    if (this.holds.size === 0 && !this.closed) {
      this.socket.pause();
    }
    this.holds.add(key);
  }

  releaseReading(key: string): void {
    if (this.holds.delete(key) && this.holds.size === 0 && !this.closed) {
      this.socket.resume();
    }
  }

  close(code: number, reason: string): void {
    if (!this.closed) {
      this.socket.close(code, reason);
      // A peer that never answers the close handshake must not keep the slot.
      setTimeout(() => this.socket.terminate(), 2_000).unref();
    }
    this.handleClose(code);
  }

  /** Token bucket over inbound messages: false (and the channel closes) past the rate. */
  private admit(messages: number): boolean {
    const { maxMessagesPerSecond } = this.options.limits;
    const now = Date.now();
    this.tokens = Math.min(
      2 * maxMessagesPerSecond,
      this.tokens + ((now - this.refilledAt) / 1000) * maxMessagesPerSecond,
    );
    this.refilledAt = now;
    this.tokens -= messages;
    if (this.tokens >= 0) {
      return true;
    }
    this.logger.warn(`${this.runnerId} exceeded ${maxMessagesPerSecond} messages/s; closing`);
    this.close(CloseCode.RateLimited, `rate limit of ${maxMessagesPerSecond} messages/s exceeded`);
    // The rest of the flood stays in the kernel until the socket is terminated (close above).
    this.socket.pause();
    return false;
  }

  /** Runs a request when a slot is free; refuses it at once when too many are waiting. */
  private async limitRequest(method: string, params: unknown): Promise<unknown> {
    const { maxPendingRequests } = this.options.limits;
    if (method !== Methods.hello && this.pendingRequests >= maxPendingRequests) {
      throw new RpcError(
        RPC_OVERLOADED,
        `Too many requests in flight on this connection (limit ${maxPendingRequests}); retry later`,
        { code: 'overloaded', limit: maxPendingRequests },
      );
    }
    this.pendingRequests++;
    try {
      if (this.runningRequests >= REQUEST_CONCURRENCY) {
        // The slot is handed over by the request that finishes, never raced for.
        await new Promise<void>((resolve) => this.waitingRequests.push(resolve));
      } else {
        this.runningRequests++;
      }
      try {
        return await this.options.onRequest(this, method, params);
      } finally {
        const next = this.waitingRequests.shift();
        if (next) {
          next();
        } else {
          this.runningRequests--;
        }
      }
    } finally {
      this.pendingRequests--;
    }
  }

  private handleClose(code: number): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    clearInterval(this.timer);
    this.peer.close(`runner ${this.runnerId} disconnected`);
    this.options.onClose(this, code);
  }
}

export function methodNotFound(method: string): RpcError {
  return new RpcError(RPC_METHOD_NOT_FOUND, `Unknown method ${method}`);
}
