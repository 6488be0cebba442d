import { randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';

import { EventBus, replicaChannel } from 'src/common/bus/event-bus';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { RPC_INTERNAL_ERROR, RPC_TIMEOUT, RpcError } from 'src/protocol/json-rpc';

/** Bus latency allowed on top of the call's own timeout before the caller gives up. */
const ROUTE_MARGIN_MS = 1000;
/** Close code of a connection replaced by a newer one (spec/runner-protocol.md §3). */
const CLOSE_REPLACED = 4000;

/** A JSON-RPC socket this replica holds (a runner's or a host's). */
export interface RoutableConnection {
  readonly ownerId: string;
  readonly epoch: number;
  readonly isOpen: boolean;
  request<T>(method: string, params: unknown, timeoutMs: number): Promise<T>;
  close(code: number, reason: string): void;
}

/** The directory row of a runner or host: who holds it, and whether it is alive. */
export interface HolderRow {
  ownerId: string;
  connected: boolean;
  lastSeenAt: Date | null;
  replicaId: string | null;
}

/** On `r:{runner}` / `h:{host}`: a routed call for the holder, or "a newer connection exists". */
type HeldMessage =
  | {
      type: 'call';
      corr: string;
      replyTo: string;
      ownerId: string;
      method: string;
      params: unknown;
      timeoutMs: number;
    }
  | { type: 'evict'; epoch: number };

/** On `rep:{replica}`: the answer to a routed call. */
interface RoutedReply {
  corr: string;
  result?: unknown;
  error?: {
    rpc?: { code: number; message: string; data?: RpcError['data'] };
    domain?: { code: ErrorCode; message: string };
  };
}

export interface BusRpcRouterOptions {
  bus: EventBus;
  /** `r:{id}` or `h:{id}`. */
  channelOf(id: string): string;
  /** "Runner" / "Host", for messages. */
  what: string;
  livenessTtlMs: number;
  /** The error when the target is gone (503 for runners, 409 "host is offline" for hosts). */
  unavailable(id: string): DomainError;
}

/**
 * Calls to a socket held by any replica (spec/runner-protocol.md §9). The holder subscribes to
 * the target's channel and serves calls that arrive there on its socket; another replica checks
 * the directory row (fail fast when it is gone), publishes the call with its reply address
 * (`rep:{replica}`) and waits for the answer up to the call's timeout, failing as a local call
 * would (RPC_TIMEOUT). A new connection publishes `evict {epoch}`: an older holder elsewhere
 * closes with 4000, so the newest connection wins across replicas.
 */
export class BusRpcRouter {
  readonly replicaId = randomUUID();
  private readonly logger: Logger;
  private readonly held = new Map<string, { connection: RoutableConnection; off: () => void }>();
  private readonly pending = new Map<
    string,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private off?: () => void;

  constructor(private readonly options: BusRpcRouterOptions) {
    this.logger = new Logger(`${options.what}Router`);
  }

  /** Listens for replies; resolves once the subscription is live. */
  async start(): Promise<void> {
    this.off = this.options.bus.subscribe(replicaChannel(this.replicaId), (m) =>
      this.onReply(m as RoutedReply),
    );
    await this.options.bus.subscribed();
  }

  stop(): void {
    this.off?.();
    for (const { off } of this.held.values()) {
      off();
    }
    this.held.clear();
    for (const [corr, call] of this.pending) {
      clearTimeout(call.timer);
      call.reject(this.options.unavailable(corr));
      this.pending.delete(corr);
    }
  }

  /** After the hello: this replica serves the target's routed calls and evicts older holders. */
  hold(id: string, connection: RoutableConnection): void {
    this.held.get(id)?.off();
    const channel = this.options.channelOf(id);
    const off = this.options.bus.subscribe(channel, (m) =>
      this.onHeldMessage(id, connection, m as HeldMessage),
    );
    this.held.set(id, { connection, off });
    this.options.bus.publish(channel, { type: 'evict', epoch: connection.epoch });
  }

  /** The connection closed: stop serving it, unless a newer one took over. True if it was held. */
  release(id: string, connection: RoutableConnection): boolean {
    const held = this.held.get(id);
    if (held?.connection !== connection) {
      return false;
    }
    held.off();
    this.held.delete(id);
    return true;
  }

  /** Calls the target through the replica holding it, as the directory row says. */
  call<T>(
    id: string,
    row: HolderRow | null,
    ownerId: string,
    method: string,
    params: unknown,
    timeoutMs: number,
  ): Promise<T> {
    const fresh =
      row?.lastSeenAt && row.lastSeenAt.getTime() > Date.now() - this.options.livenessTtlMs;
    // A row naming this replica while the socket is gone: the close is being recorded.
    if (
      !row?.connected ||
      !fresh ||
      row.ownerId !== ownerId ||
      !row.replicaId ||
      row.replicaId === this.replicaId
    ) {
      return Promise.reject(this.options.unavailable(id));
    }
    const holder = row.replicaId;
    const corr = randomUUID();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(corr);
        this.logger.warn(`${method} for ${id} got no answer from replica ${holder}`);
        reject(new RpcError(RPC_TIMEOUT, `${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs + ROUTE_MARGIN_MS);
      this.pending.set(corr, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.options.bus.publish(this.options.channelOf(id), {
        type: 'call',
        corr,
        replyTo: this.replicaId,
        ownerId,
        method,
        params,
        timeoutMs,
      } satisfies HeldMessage);
    });
  }

  private onHeldMessage(id: string, connection: RoutableConnection, message: HeldMessage): void {
    if (message.type === 'evict') {
      if (message.epoch > connection.epoch) {
        connection.close(CLOSE_REPLACED, 'replaced by a newer connection');
      }
      return;
    }
    void this.serve(id, connection, message);
  }

  /** Holder side: runs a routed call on the local socket and publishes the answer. */
  private async serve(
    id: string,
    connection: RoutableConnection,
    call: Extract<HeldMessage, { type: 'call' }>,
  ): Promise<void> {
    const reply = (body: Omit<RoutedReply, 'corr'>) =>
      this.options.bus.publish(replicaChannel(call.replyTo), { corr: call.corr, ...body });
    if (!connection.isOpen || connection.ownerId !== call.ownerId) {
      const { code, message } = this.options.unavailable(id);
      reply({ error: { domain: { code, message } } });
      return;
    }
    try {
      reply({ result: await connection.request(call.method, call.params, call.timeoutMs) });
    } catch (error) {
      reply({ error: toReplyError(error) });
    }
  }

  private onReply(reply: RoutedReply): void {
    const call = this.pending.get(reply.corr);
    if (!call) {
      return;
    }
    this.pending.delete(reply.corr);
    clearTimeout(call.timer);
    if (!reply.error) {
      call.resolve(reply.result);
    } else if (reply.error.domain) {
      call.reject(new DomainError(reply.error.domain.code, reply.error.domain.message));
    } else {
      const rpc = reply.error.rpc ?? { code: RPC_INTERNAL_ERROR, message: 'Routed call failed' };
      call.reject(new RpcError(rpc.code, rpc.message, rpc.data));
    }
  }
}

function toReplyError(error: unknown): NonNullable<RoutedReply['error']> {
  if (error instanceof DomainError) {
    return { domain: { code: error.code, message: error.message } };
  }
  if (error instanceof RpcError) {
    return { rpc: { code: error.code, message: error.message, data: error.data } };
  }
  return { rpc: { code: RPC_INTERNAL_ERROR, message: (error as Error).message } };
}
