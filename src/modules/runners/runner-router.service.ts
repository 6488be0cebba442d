import { randomUUID } from 'node:crypto';

import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';

import { EventBus, replicaChannel, runnerChannel } from 'src/common/bus/event-bus';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnersRepository } from 'src/modules/runners/runners.repository';
import { RPC_INTERNAL_ERROR, RPC_TIMEOUT, RpcError } from 'src/protocol/json-rpc';
import { CloseCode } from 'src/protocol/runner-protocol';

/** Presence of runners on every replica, so `isServing` stays a synchronous check. */
const PRESENCE_CHANNEL = 'p:runners';
/** Bus latency allowed on top of the call's own timeout before the caller gives up. */
const ROUTE_MARGIN_MS = 1000;

type Presence =
  | { type: 'online'; runnerId: string; ownerId: string; replicaId: string; epoch: number }
  | { type: 'offline'; runnerId: string; epoch: number };

/** On `r:{runner}`: a routed call for the holder, or "a newer connection exists" (evict). */
type RunnerMessage =
  | {
      type: 'call';
      corr: string;
      replyTo: string;
      ownerId: string;
      method: string;
      params: unknown;
      timeoutMs: number;
    }
  | { type: 'evict'; epoch: number; replicaId: string };

/** On `rep:{replica}`: the answer to a routed call. */
interface RoutedReply {
  corr: string;
  result?: unknown;
  error?: {
    rpc?: { code: number; message: string; data?: RpcError['data'] };
    domain?: DomainReply;
  };
}

interface DomainReply {
  code: ErrorCode;
  message: string;
}

interface Holder {
  ownerId: string;
  replicaId: string;
  epoch: number;
}

/**
 * Runner calls across replicas (spec/runner-protocol.md §9). The replica holding a runner's
 * socket subscribes to `r:{runner}` and serves calls that arrive there; any other replica
 * publishes them with a reply address (`rep:{replica}`) and waits for the answer. Also makes
 * the newest connection win across replicas (evict with its epoch) and keeps a view of which
 * runner is held where (presence on the bus, refreshed from the directory every heartbeat).
 */
@Injectable()
export class RunnerRouterService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly replicaId = randomUUID();
  private readonly logger = new Logger('RunnerRouter');
  /** Runners this replica holds: the connection serving `r:{runner}`, and how to leave it. */
  private readonly held = new Map<string, { connection: RunnerConnection; off: () => void }>();
  /** Runners held by any replica, this one included. */
  private holders = new Map<string, Holder>();
  private readonly pending = new Map<
    string,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private readonly offs: (() => void)[] = [];
  private refreshTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly bus: EventBus,
    private readonly runners: RunnersRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.offs.push(
      this.bus.subscribe(replicaChannel(this.replicaId), (m) => this.onReply(m as RoutedReply)),
      this.bus.subscribe(PRESENCE_CHANNEL, (m) => this.onPresence(m as Presence)),
    );
    await this.bus.subscribed();
    await this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh(), this.config.runners.heartbeatMs);
    this.refreshTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.refreshTimer);
    for (const off of this.offs.splice(0)) {
      off();
    }
    for (const [corr, call] of this.pending) {
      clearTimeout(call.timer);
      call.reject(new DomainError(ErrorCode.RunnerUnavailable, 'The server is shutting down'));
      this.pending.delete(corr);
    }
  }

  /** After `runner.hello`: this replica serves the runner's routed calls and evicts older holders. */
  hold(connection: RunnerConnection): void {
    const { runnerId, epoch, ownerId } = connection;
    this.held.get(runnerId)?.off();
    const off = this.bus.subscribe(runnerChannel(runnerId), (m) =>
      this.onRunnerMessage(connection, m as RunnerMessage),
    );
    this.held.set(runnerId, { connection, off });
    this.bus.publish(runnerChannel(runnerId), { type: 'evict', epoch, replicaId: this.replicaId });
    this.bus.publish(PRESENCE_CHANNEL, {
      type: 'online',
      runnerId,
      ownerId,
      replicaId: this.replicaId,
      epoch,
    } satisfies Presence);
  }

  /** The connection closed: stop serving it (unless a newer one took over already). */
  release(connection: RunnerConnection): void {
    const held = this.held.get(connection.runnerId);
    if (held?.connection !== connection) {
      return;
    }
    held.off();
    this.held.delete(connection.runnerId);
    this.bus.publish(PRESENCE_CHANNEL, {
      type: 'offline',
      runnerId: connection.runnerId,
      epoch: connection.epoch,
    } satisfies Presence);
  }

  /** The runner is held by another replica, for this owner (as far as this replica knows). */
  isHeldElsewhere(runnerId: string, ownerId: string): boolean {
    const holder = this.holders.get(runnerId);
    return holder?.ownerId === ownerId && holder.replicaId !== this.replicaId;
  }

  /**
   * Calls the runner through the replica holding it. 503 when the directory says it is gone (or
   * someone else's); the call's own timeout (RPC_TIMEOUT) when the holder does not answer.
   */
  async call<T>(
    runnerId: string,
    ownerId: string,
    method: string,
    params: unknown,
    timeoutMs: number,
  ): Promise<T> {
    const row = await this.runners.getById(runnerId);
    const fresh =
      row?.lastSeenAt && row.lastSeenAt.getTime() > Date.now() - this.config.runners.livenessTtlMs;
    if (!row || !row.connected || !fresh || row.ownerId !== ownerId || !row.replicaId) {
      throw new DomainError(ErrorCode.RunnerUnavailable, `Runner ${runnerId} is not connected`);
    }
    if (row.replicaId === this.replicaId) {
      // The directory names us, but the socket is gone: it is being recorded as closed.
      throw new DomainError(ErrorCode.RunnerUnavailable, `Runner ${runnerId} is not connected`);
    }
    const holder = row.replicaId;
    const corr = randomUUID();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(corr);
        this.logger.warn(`${method} for ${runnerId} got no answer from replica ${holder}`);
        reject(new RpcError(RPC_TIMEOUT, `${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs + ROUTE_MARGIN_MS);
      this.pending.set(corr, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.bus.publish(runnerChannel(runnerId), {
        type: 'call',
        corr,
        replyTo: this.replicaId,
        ownerId,
        method,
        params,
        timeoutMs,
      } satisfies RunnerMessage);
    });
  }

  private onRunnerMessage(connection: RunnerConnection, message: RunnerMessage): void {
    if (message.type === 'evict') {
      if (message.epoch > connection.epoch) {
        connection.close(CloseCode.Replaced, 'replaced by a newer connection');
      }
      return;
    }
    void this.serve(connection, message);
  }

  /** Holder side: runs a routed call on the local socket and publishes the answer. */
  private async serve(
    connection: RunnerConnection,
    call: Extract<RunnerMessage, { type: 'call' }>,
  ): Promise<void> {
    const reply = (body: Omit<RoutedReply, 'corr'>) =>
      this.bus.publish(replicaChannel(call.replyTo), { corr: call.corr, ...body });
    if (!connection.isOpen || connection.ownerId !== call.ownerId) {
      reply({
        error: {
          domain: {
            code: ErrorCode.RunnerUnavailable,
            message: `Runner ${connection.runnerId} is not connected`,
          },
        },
      });
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

  private onPresence(presence: Presence): void {
    const known = this.holders.get(presence.runnerId);
    if (presence.type === 'online') {
      if (!known || known.epoch <= presence.epoch) {
        this.holders.set(presence.runnerId, {
          ownerId: presence.ownerId,
          replicaId: presence.replicaId,
          epoch: presence.epoch,
        });
      }
    } else if (known && known.epoch <= presence.epoch) {
      this.holders.delete(presence.runnerId);
    }
  }

  /** The directory is the truth; presence messages only make changes visible sooner. */
  private async refresh(): Promise<void> {
    try {
      const rows = await this.runners.listOnline(null, this.config.runners.livenessTtlMs);
      this.holders = new Map(
        rows
          .filter((row) => row.replicaId)
          .map((row) => [
            row.runnerId,
            { ownerId: row.ownerId, replicaId: row.replicaId as string, epoch: row.epoch },
          ]),
      );
    } catch (error) {
      this.logger.warn(`Could not read the runner directory: ${(error as Error).message}`);
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
