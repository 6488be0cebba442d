import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

import { BusRpcRouter } from 'src/common/bus/bus-rpc-router';
import { EventBus, hostChannel } from 'src/common/bus/event-bus';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { HostConnection } from 'src/modules/hosts/host-connection';
import { HostsRepository } from 'src/modules/hosts/hosts.repository';

/**
 * Host calls across replicas (spec/runner-protocol.md §9) through `BusRpcRouter` on `h:{host}`:
 * 409 "host is offline" when the directory says the host is gone, the call's own timeout (504
 * in `HostsService`) when its holder does not answer.
 */
@Injectable()
export class HostRouterService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly router: BusRpcRouter;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    bus: EventBus,
    private readonly hosts: HostsRepository,
  ) {
    this.router = new BusRpcRouter({
      bus,
      channelOf: hostChannel,
      what: 'Host',
      livenessTtlMs: config.runners.livenessTtlMs,
      unavailable: () => new DomainError(ErrorCode.Conflict, 'host is offline'),
    });
  }

  get replicaId(): string {
    return this.router.replicaId;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.router.start();
  }

  onApplicationShutdown(): void {
    this.router.stop();
  }

  hold(connection: HostConnection): void {
    this.router.hold(connection.hostId, connection);
  }

  release(connection: HostConnection): void {
    this.router.release(connection.hostId, connection);
  }

  async call<T>(
    hostId: string,
    ownerId: string,
    method: string,
    params: unknown,
    timeoutMs: number,
  ): Promise<T> {
    const row = await this.hosts.getById(hostId);
    return this.router.call<T>(hostId, row, ownerId, method, params, timeoutMs);
  }
}
