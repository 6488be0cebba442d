/** JSON-RPC 2.0 over any text transport (spec/runner-protocol.md §3). */

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: number | string;
  method: string;
  params?: unknown;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: unknown;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: { code?: string; [key: string]: unknown };
}

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: number | string | null;
  result?: unknown;
  error?: JsonRpcErrorObject;
}

export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;
export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_INVALID_PARAMS = -32602;
export const RPC_INTERNAL_ERROR = -32603;
/** Our own: the call got no answer in time, or the connection closed first. */
export const RPC_TIMEOUT = -32000;
export const RPC_DISCONNECTED = -32001;
/** Our own: the peer has too many requests waiting; retry later. */
export const RPC_OVERLOADED = -32002;

/** An error answer, thrown by handlers and by `request()` when the peer answered with an error. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: JsonRpcErrorObject['data'],
  ) {
    super(message);
    this.name = 'RpcError';
  }

  /** The string code in `error.data.code` (e.g. `session_unknown`), if any. */
  get dataCode(): string | undefined {
    return this.data?.code;
  }

  toJSON(): JsonRpcErrorObject {
    return { code: this.code, message: this.message, ...(this.data ? { data: this.data } : {}) };
  }
}

export interface JsonRpcPeerOptions {
  /** Writes one serialized message (a frame). */
  send(text: string): void;
  onRequest(method: string, params: unknown): Promise<unknown> | unknown;
  onNotification(method: string, params: unknown): void;
  /** Largest frame accepted or sent, in bytes. */
  maxFrameBytes?: number;
  /** Most messages in one batch frame; a larger batch is refused whole with one error answer. */
  maxBatch?: number;
  /** Told how many messages an inbound frame holds before any runs; false drops the frame. */
  admit?(messages: number): boolean;
  onProtocolError?(error: Error): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  method: string;
}

/**
 * One side of a JSON-RPC connection: both sides may send requests. Transport-agnostic so the
 * server's WebSocket connection and the runner's client share it.
 */
export class JsonRpcPeer {
  private nextId = 1;
  private readonly pending = new Map<number | string, Pending>();
  private closed = false;
  readonly maxFrameBytes: number;

  constructor(private readonly options: JsonRpcPeerOptions) {
    this.maxFrameBytes = options.maxFrameBytes ?? 16 * 1024 * 1024;
  }

  request<T = unknown>(method: string, params: unknown, timeoutMs: number): Promise<T> {
    if (this.closed) {
      return Promise.reject(new RpcError(RPC_DISCONNECTED, 'connection closed'));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError(RPC_TIMEOUT, `${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, method });
      try {
        this.write({ jsonrpc: '2.0', id, method, params });
      } catch (error) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(error as Error);
      }
    });
  }

  notify(method: string, params: unknown): void {
    if (!this.closed) {
      this.write({ jsonrpc: '2.0', method, params });
    }
  }

  /** Feeds one inbound frame (a message or a batch). */
  handleFrame(text: string): void {
    if (Buffer.byteLength(text) > this.maxFrameBytes) {
      this.options.onProtocolError?.(new Error('frame too large'));
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.write({
        jsonrpc: '2.0',
        id: null,
        error: { code: RPC_PARSE_ERROR, message: 'Parse error' },
      });
      return;
    }
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    if (this.options.admit && !this.options.admit(messages.length)) {
      return;
    }
    const maxBatch = this.options.maxBatch ?? Infinity;
    if (messages.length > maxBatch) {
      this.send({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: RPC_INVALID_REQUEST,
          message: `A batch of ${messages.length} messages exceeds the limit of ${maxBatch}; none was run`,
          data: { code: 'batch_too_large', limit: maxBatch },
        },
      });
      return;
    }
    for (const message of messages) {
      this.handleMessage(message as JsonRpcMessage);
    }
  }

  /** Fails every call in flight; later calls fail at once. */
  close(reason = 'connection closed'): void {
    this.closed = true;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new RpcError(RPC_DISCONNECTED, `${pending.method}: ${reason}`));
      this.pending.delete(id);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private handleMessage(message: JsonRpcMessage): void {
    if (!message || typeof message !== 'object' || message.jsonrpc !== '2.0') {
      this.options.onProtocolError?.(new Error('not a JSON-RPC 2.0 message'));
      return;
    }
    if ('method' in message && typeof message.method === 'string') {
      if ('id' in message && message.id !== undefined && message.id !== null) {
        void this.answer(message as JsonRpcRequest);
      } else {
        try {
          this.options.onNotification(message.method, message.params);
        } catch (error) {
          this.options.onProtocolError?.(error as Error);
        }
      }
      return;
    }
    const response = message as JsonRpcResponse;
    const pending = response.id === null ? undefined : this.pending.get(response.id);
    if (!pending) {
      return;
    }
    this.pending.delete(response.id as number | string);
    clearTimeout(pending.timer);
    if (response.error) {
      pending.reject(
        new RpcError(response.error.code, response.error.message, response.error.data),
      );
    } else {
      pending.resolve(response.result);
    }
  }

  private async answer(request: JsonRpcRequest): Promise<void> {
    let response: JsonRpcResponse;
    try {
      const result = await this.options.onRequest(request.method, request.params);
      response = { jsonrpc: '2.0', id: request.id, result: result ?? {} };
    } catch (error) {
      const rpcError =
        error instanceof RpcError
          ? error
          : new RpcError(RPC_INTERNAL_ERROR, (error as Error)?.message ?? 'internal error');
      response = { jsonrpc: '2.0', id: request.id, error: rpcError.toJSON() };
    }
    try {
      this.write(response);
    } catch (error) {
      // An answer too large for a frame becomes an error answer, so the caller is not left waiting.
      this.options.onProtocolError?.(error as Error);
      this.send({
        jsonrpc: '2.0',
        id: request.id,
        error: { code: RPC_INTERNAL_ERROR, message: (error as Error).message },
      });
    }
  }

  /** Writes a message the peer may not need (answers, parse errors): never throws. */
  private send(message: JsonRpcMessage): void {
    try {
      this.write(message);
    } catch (error) {
      this.options.onProtocolError?.(error as Error);
    }
  }

  private write(message: JsonRpcMessage): void {
    if (this.closed) {
      return;
    }
    const text = JSON.stringify(message);
    if (Buffer.byteLength(text) > this.maxFrameBytes) {
      throw new RpcError(RPC_INVALID_REQUEST, `message exceeds ${this.maxFrameBytes} bytes`);
    }
    this.options.send(text);
  }
}
