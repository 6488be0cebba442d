import { randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';
import WebSocket from 'ws';

import { JsonRpcPeer, RPC_METHOD_NOT_FOUND, RpcError } from 'src/protocol/json-rpc';
import { CloseCode, HelloParams, Methods } from 'src/protocol/runner-protocol';

export interface RunnerConnectionOptions {
  runnerId: string;
  ownerId: string;
  heartbeatMs: number;
  onRequest(connection: RunnerConnection, method: string, params: unknown): Promise<unknown>;
  onNotification(connection: RunnerConnection, method: string, params: unknown): void;
  onClose(connection: RunnerConnection, code: number): void;
}

/**
 * One runner's WebSocket: JSON-RPC both ways, the `$/heartbeat` every H and the 3H watchdog
 * (spec/runner-protocol.md §3). Knows nothing about sessions.
 */
export class RunnerConnection {
  readonly connectionId = randomUUID();
  readonly runnerId: string;
  readonly ownerId: string;
  epoch = 0;
  hello?: HelloParams;
  private readonly logger = new Logger('RunnerConnection');
  private readonly peer: JsonRpcPeer;
  private lastInbound = Date.now();
  private lastOutbound = Date.now();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: RunnerConnectionOptions,
  ) {
    this.runnerId = options.runnerId;
    this.ownerId = options.ownerId;
    this.peer = new JsonRpcPeer({
      send: (text) => {
        this.lastOutbound = Date.now();
        socket.send(text);
      },
      onRequest: (method, params) => this.options.onRequest(this, method, params),
      onNotification: (method, params) => {
        if (method !== Methods.heartbeat) {
          this.options.onNotification(this, method, params);
        }
      },
      onProtocolError: (error) => this.logger.warn(`${this.runnerId}: ${error.message}`),
    });
    socket.on('message', (data, isBinary) => {
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

  close(code: number, reason: string): void {
    if (!this.closed) {
      this.socket.close(code, reason);
      // A peer that never answers the close handshake must not keep the slot.
      setTimeout(() => this.socket.terminate(), 2_000).unref();
    }
    this.handleClose(code);
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
