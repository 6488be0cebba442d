import WebSocket from 'ws';

import { RpcChannel, RpcChannelHandlers } from 'src/common/ws/rpc-channel';
import { RPC_OVERLOADED, RpcError } from 'src/protocol/json-rpc';
import { CloseCode, HelloParams, Methods, Timeouts } from 'src/protocol/runner-protocol';

export interface RunnerConnectionOptions extends RpcChannelHandlers<RunnerConnection> {
  runnerId: string;
  ownerId: string;
  heartbeatMs: number;
  limits: RunnerChannelLimits;
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
 * One runner's WebSocket (the channel rules are RpcChannel's). Knows nothing about sessions.
 *
 * One connection must not stall the server (issue 16, finding 3): inbound messages are rate
 * limited (token bucket, 2 s of burst; past it the channel closes with 4006), a batch frame is
 * capped, requests run at most REQUEST_CONCURRENCY at a time with a bounded queue (past it a
 * JSON-RPC error, no work done), and a consumer can pause reading (`holdReading`) while it
 * catches up, so the socket's backlog stays in the kernel and the runner, not in our heap.
 */
export class RunnerConnection extends RpcChannel<HelloParams> {
  readonly runnerId: string;
  /** Turns handed to this connection before its hello was reconciled (see `endHelloWindow`). */
  private helloTurns?: Set<string> = new Set();
  private tokens: number;
  private refilledAt = Date.now();
  private pendingRequests = 0;
  private runningRequests = 0;
  private readonly waitingRequests: (() => void)[] = [];
  private readonly holds = new Set<string>();

  constructor(
    socket: WebSocket,
    private readonly options: RunnerConnectionOptions,
  ) {
    super(
      socket,
      {
        kind: 'runner',
        id: options.runnerId,
        ownerId: options.ownerId,
        heartbeatMs: options.heartbeatMs,
        helloMethod: Methods.hello,
        helloTimeoutMs: Timeouts.helloMs,
        maxBatch: options.limits.maxBatch,
      },
      options,
    );
    this.runnerId = options.runnerId;
    this.tokens = 2 * options.limits.maxMessagesPerSecond;
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
    if (this.holds.size === 0) {
      this.setReading(false);
    }
    this.holds.add(key);
  }

  releaseReading(key: string): void {
    if (this.holds.delete(key) && this.holds.size === 0) {
      this.setReading(true);
    }
  }

  protected handleRequest(method: string, params: unknown): Promise<unknown> {
    return this.limitRequest(method, params);
  }

  protected isReadingHeld(): boolean {
    return this.holds.size > 0;
  }

  /** Token bucket over inbound messages: false (and the channel closes) past the rate. */
  protected admit(messages: number): boolean {
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
    this.stopReading();
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
        return await this.dispatchRequest(method, params);
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
}
