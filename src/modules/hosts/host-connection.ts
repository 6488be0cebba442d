import { randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';
import WebSocket from 'ws';

import { HostHelloParams, HostMethods } from 'src/protocol/host-protocol';
import { JsonRpcPeer } from 'src/protocol/json-rpc';
import { CloseCode } from 'src/protocol/runner-protocol';

export interface HostConnectionOptions {
  hostId: string;
  ownerId: string;
  heartbeatMs: number;
  onRequest(connection: HostConnection, method: string, params: unknown): Promise<unknown>;
  onNotification(connection: HostConnection, method: string, params: unknown): void;
  onClose(connection: HostConnection, code: number): void;
}

/**
 * One host daemon's WebSocket: JSON-RPC both ways, the `$/heartbeat` every H and the 3H watchdog
 * (spec/runner-protocol.md §3), the same rules as a runner's channel.
 */
export class HostConnection {
  readonly connectionId = randomUUID();
  readonly hostId: string;
  readonly ownerId: string;
  epoch = 0;
  hello?: HostHelloParams;
  private readonly logger = new Logger('HostConnection');
  private readonly peer: JsonRpcPeer;
  private lastInbound = Date.now();
  private lastOutbound = Date.now();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: HostConnectionOptions,
  ) {
    this.hostId = options.hostId;
    this.ownerId = options.ownerId;
    this.peer = new JsonRpcPeer({
      send: (text) => {
        this.lastOutbound = Date.now();
        socket.send(text);
      },
      onRequest: (method, params) => this.options.onRequest(this, method, params),
      onNotification: (method, params) => {
        if (method !== HostMethods.heartbeat) {
          this.options.onNotification(this, method, params);
        }
      },
      onProtocolError: (error) => this.logger.warn(`${this.hostId}: ${error.message}`),
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
      this.logger.warn(`${this.hostId} socket error: ${error.message}`),
    );
    const h = options.heartbeatMs;
    this.timer = setInterval(
      () => {
        const now = Date.now();
        if (now - this.lastInbound > 3 * h) {
          this.close(CloseCode.HeartbeatTimeout, 'heartbeat timeout');
        } else if (now - this.lastOutbound >= h) {
          this.peer.notify(HostMethods.heartbeat, { ts: now });
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

  close(code: number, reason: string): void {
    if (!this.closed) {
      this.socket.close(code, reason);
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
    this.peer.close(`host ${this.hostId} disconnected`);
    this.options.onClose(this, code);
  }
}
