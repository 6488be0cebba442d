import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';

import { BusRpcRouter } from 'src/common/bus/bus-rpc-router';
import { EventBus, runnerChannel } from 'src/common/bus/event-bus';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnersRepository } from 'src/modules/runners/runners.repository';

/** Presence of runners on every replica, so `isServing` stays a synchronous check. */
const PRESENCE_CHANNEL = 'p:runners';

type Presence =
  | { type: 'online'; runnerId: string; ownerId: string; replicaId: string; epoch: number }
  | { type: 'offline'; runnerId: string; epoch: number };

interface Holder {
  ownerId: string;
  replicaId: string;
  epoch: number;
}

/** Presence heard while a directory read was in flight wins over that read. */
type HeardAt = { at: number; holder: Holder | null };

/**
 * Runner calls across replicas (spec/runner-protocol.md §9) through `BusRpcRouter` on
 * `r:{runner}`: 503 `runner_unavailable` when the directory says the runner is gone. Also keeps
 * a view of which runner is held where (presence on the bus, refreshed from the directory every
 * heartbeat), so `RunnerRpcService.isServing` stays synchronous.
 */
@Injectable()
export class RunnerRouterService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RunnerRouter');
  private readonly router: BusRpcRouter;
  /** Runners held by any replica, this one included. */
  private holders = new Map<string, Holder>();
  private readonly heard = new Map<string, HeardAt>();
  private offPresence?: () => void;
  private refreshTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly bus: EventBus,
    private readonly runners: RunnersRepository,
  ) {
    this.router = new BusRpcRouter({
      bus,
      channelOf: runnerChannel,
      what: 'Runner',
      livenessTtlMs: config.runners.livenessTtlMs,
      unavailable: (id) =>
        new DomainError(ErrorCode.RunnerUnavailable, `Runner ${id} is not connected`),
    });
  }

  get replicaId(): string {
    return this.router.replicaId;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.offPresence = this.bus.subscribe(PRESENCE_CHANNEL, (m) => this.onPresence(m as Presence));
    await this.router.start();
    await this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh(), this.config.runners.heartbeatMs);
    this.refreshTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.refreshTimer);
    this.offPresence?.();
    this.router.stop();
  }

  /** After `runner.hello`: this replica serves the runner's routed calls. */
  hold(connection: RunnerConnection): void {
    const { runnerId, epoch, ownerId } = connection;
    this.router.hold(runnerId, connection);
    this.bus.publish(PRESENCE_CHANNEL, {
      type: 'online',
      runnerId,
      ownerId,
      replicaId: this.replicaId,
      epoch,
    } satisfies Presence);
  }

  release(connection: RunnerConnection): void {
    if (this.router.release(connection.runnerId, connection)) {
      this.bus.publish(PRESENCE_CHANNEL, {
        type: 'offline',
        runnerId: connection.runnerId,
        epoch: connection.epoch,
      } satisfies Presence);
    }
  }

  /** The runner is held by another replica, for this owner (as far as this replica knows). */
  isHeldElsewhere(runnerId: string, ownerId: string): boolean {
    const holder = this.holders.get(runnerId);
    return holder?.ownerId === ownerId && holder.replicaId !== this.replicaId;
  }

  async call<T>(
    runnerId: string,
    ownerId: string,
    method: string,
    params: unknown,
    timeoutMs: number,
  ): Promise<T> {
    const row = await this.runners.getById(runnerId);
    return this.router.call<T>(runnerId, row, ownerId, method, params, timeoutMs);
  }

  private onPresence(presence: Presence): void {
    const known = this.holders.get(presence.runnerId);
    if (known && known.epoch > presence.epoch) {
      return;
    }
    const holder =
      presence.type === 'online'
        ? { ownerId: presence.ownerId, replicaId: presence.replicaId, epoch: presence.epoch }
        : null;
    if (holder) {
      this.holders.set(presence.runnerId, holder);
    } else {
      this.holders.delete(presence.runnerId);
    }
    this.heard.set(presence.runnerId, { at: Date.now(), holder });
  }

  /** The directory is the truth; presence messages only make changes visible sooner. */
  private async refresh(): Promise<void> {
    const started = Date.now();
    try {
      const rows = await this.runners.listOnline(null, this.config.runners.livenessTtlMs);
      const holders = new Map(
        rows
          .filter((row) => row.replicaId)
          .map((row) => [
            row.runnerId,
            { ownerId: row.ownerId, replicaId: row.replicaId as string, epoch: row.epoch },
          ]),
      );
      for (const [runnerId, { at, holder }] of this.heard) {
        if (at < started) {
          this.heard.delete(runnerId);
        } else if (holder) {
          holders.set(runnerId, holder);
        } else {
          holders.delete(runnerId);
        }
      }
      this.holders = holders;
    } catch (error) {
      this.logger.warn(`Could not read the runner directory: ${(error as Error).message}`);
    }
  }
}
