import { randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';
import WebSocket from 'ws';

import {
  JsonRpcPeer,
  RPC_INVALID_PARAMS,
  RPC_METHOD_NOT_FOUND,
  RpcError,
} from 'src/protocol/json-rpc';
import { CloseCode, Methods } from 'src/protocol/runner-protocol';

export interface RpcChannelSettings {
  /** Names the daemon in logs and in the error its pending calls get on close. */
  kind: 'host' | 'runner';
  id: string;
  ownerId: string;
  heartbeatMs: number;
  /** The handshake the daemon must send first (`runner.hello`, `host.hello`)… */
  helloMethod: string;
  /** …within this long, or the channel closes. */
  helloTimeoutMs: number;
  maxBatch?: number;
}

/** What a gateway does with a channel's traffic; the channel enforces the hello-first rule. */
export interface RpcChannelHandlers<C> {
  /** The daemon's hello (the first request it may send). */
  onHello(connection: C, params: unknown): Promise<unknown>;
  /** Any other request, once the hello was recorded (`connection.hello`). */
  onRequest(connection: C, method: string, params: unknown): Promise<unknown>;
  /** A notification (heartbeats aside), once the hello was recorded. */
  onNotification(connection: C, method: string, params: unknown): void;
  /** Called once, however the channel ended. */
  onClose(connection: C, code: number): void;
}

/**
 * A daemon's WebSocket (the runner and the host channels, spec/runner-protocol.md §3): JSON-RPC
 * both ways over text frames, the `$/heartbeat` every H and the 3H watchdog, the hello that
 * must come first and in time, and a close that does not wait forever for the peer. The
 * gateway's handlers say what the traffic and a close mean.
 */
export abstract class RpcChannel<Hello> {
  readonly connectionId = randomUUID();
  readonly ownerId: string;
  epoch = 0;
  hello?: Hello;
  protected readonly logger = new Logger(this.constructor.name);
  private readonly peer: JsonRpcPeer;
  private lastInbound = Date.now();
  private lastOutbound = Date.now();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  protected constructor(
    private readonly socket: WebSocket,
    private readonly settings: RpcChannelSettings,
    private readonly handlers: RpcChannelHandlers<RpcChannel<Hello>>,
  ) {
    this.ownerId = settings.ownerId;
    this.peer = new JsonRpcPeer({
      maxBatch: settings.maxBatch,
      admit: (messages) => this.admit(messages),
      send: (text) => {
        this.lastOutbound = Date.now();
        socket.send(text);
      },
      onRequest: (method, params) => this.handleRequest(method, params),
      onNotification: (method, params) => {
        if (method !== Methods.heartbeat) {
          this.dispatchNotification(method, params);
        }
      },
      onProtocolError: (error) => this.logger.warn(`${settings.id}: ${error.message}`),
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
      this.logger.warn(`${settings.id} socket error: ${error.message}`),
    );
    const h = settings.heartbeatMs;
    this.timer = setInterval(
      () => {
        const now = Date.now();
        // A connection we stopped reading is not silent: its frames wait in the socket.
        if (this.isReadingHeld()) {
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
    setTimeout(() => {
      if (!this.hello) {
        this.close(CloseCode.ProtocolError, `expected ${settings.helloMethod}`);
      }
    }, settings.helloTimeoutMs).unref();
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

  /**
   * Refuses anything but the hello before the hello: a request is answered with this error, a
   * notification is dropped; either way the channel closes.
   */
  private refuseBeforeHello(): RpcError {
    setImmediate(() =>
      this.close(CloseCode.ProtocolError, `expected ${this.settings.helloMethod} first`),
    );
    return new RpcError(RPC_INVALID_PARAMS, `${this.settings.helloMethod} must come first`);
  }

  /** Checks a hello before it is recorded: only one, and in the protocol version we speak. */
  checkHello(params: { protocol?: unknown } | undefined, version: number): void {
    if (this.hello) {
      throw new RpcError(RPC_INVALID_PARAMS, `${this.settings.helloMethod} was already received`);
    }
    if (!params || params.protocol !== version) {
      setImmediate(() => this.close(CloseCode.UnsupportedVersion, 'unsupported protocol version'));
      throw new RpcError(
        RPC_INVALID_PARAMS,
        `Unsupported protocol ${params?.protocol}; this server speaks ${version}`,
      );
    }
  }

  /** Runs `touch` (recording the daemon as alive) every `everyMs` while the channel is open. */
  keepAlive(everyMs: number, touch: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      if (!this.isOpen) {
        clearInterval(timer);
        return;
      }
      touch().catch((error: Error) =>
        this.logger.warn(`Could not record ${this.settings.id} as alive: ${error.message}`),
      );
    }, everyMs);
    timer.unref();
  }

  /** Runs an inbound request (a subclass may wrap this, e.g. to bound concurrency). */
  protected handleRequest(method: string, params: unknown): Promise<unknown> {
    return this.dispatchRequest(method, params);
  }

  /** The hello first; anything before it is refused and the channel closes. */
  protected async dispatchRequest(method: string, params: unknown): Promise<unknown> {
    if (method === this.settings.helloMethod) {
      return this.handlers.onHello(this, params);
    }
    if (!this.hello) {
      throw this.refuseBeforeHello();
    }
    return this.handlers.onRequest(this, method, params);
  }

  private dispatchNotification(method: string, params: unknown): void {
    if (!this.hello) {
      this.refuseBeforeHello();
      return;
    }
    this.handlers.onNotification(this, method, params);
  }

  /** Told how many messages an inbound frame holds before any runs; false drops the frame. */
  protected admit(_messages: number): boolean {
    return true;
  }

  /** True while reading is paused on purpose: the watchdog does not count that as silence. */
  protected isReadingHeld(): boolean {
    return false;
  }

  /** Leaves the rest of a flood in the kernel until the socket is terminated (after a close). */
  protected stopReading(): void {
    this.socket.pause();
  }

  /** Pauses or resumes reading the socket (back-pressure). */
  protected setReading(reading: boolean): void {
    if (this.closed) {
      return;
    }
    if (reading) {
      this.socket.resume();
    } else {
      this.socket.pause();
    }
  }

  private handleClose(code: number): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    clearInterval(this.timer);
    this.peer.close(`${this.settings.kind} ${this.settings.id} disconnected`);
    this.handlers.onClose(this, code);
  }
}

/** The answer to a request for a method the server does not serve. */
export function methodNotFound(method: string): RpcError {
  return new RpcError(RPC_METHOD_NOT_FOUND, `Unknown method ${method}`);
}
