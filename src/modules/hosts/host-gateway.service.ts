import { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';

import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocket } from 'ws';

import { LOCAL_USER_ID } from 'src/common/auth/auth-principal';
import { JwtVerifierService } from 'src/common/auth/jwt-verifier.service';
import { assertLocalCaller, assertLoopbackDaemon } from 'src/common/auth/local-origin';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, normalizeId } from 'src/common/ids/ids';
import { ChannelRegistry } from 'src/common/ws/channel-registry';
import { methodNotFound } from 'src/common/ws/rpc-channel';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { HostConnection } from 'src/modules/hosts/host-connection';
import { HostHooks } from 'src/modules/hosts/host-hooks';
import { HostRouterService } from 'src/modules/hosts/host-router.service';
import { HostsRepository } from 'src/modules/hosts/hosts.repository';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import {
  HOST_CHANNEL_PATH,
  HOST_PROTOCOL_VERSION,
  HOST_SUBPROTOCOL,
  HostHelloParams,
  HostHelloResult,
  HostMethods,
  RunnerExitedParams,
} from 'src/protocol/host-protocol';
import { RPC_INVALID_PARAMS, RpcError } from 'src/protocol/json-rpc';
import { CloseCode } from 'src/protocol/runner-protocol';

const MAX_NAME_LENGTH = 200;

/**
 * The host channel endpoint `GET /v1/hosts/{id}/channel` (spec/runner-protocol.md §3): the
 * upgrade is authorised first and refused with a real HTTP status (a host id registered to
 * another user is 409); then the daemon must say `host.hello` within 10 s. Newest connection
 * wins. Holds this replica's live host connections; liveness is in the `hosts` table.
 */
@Injectable()
export class HostGatewayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('HostGateway');
  private readonly channels = new ChannelRegistry<HostConnection>({
    logger: this.logger,
    maxFrameBytes: 16 * 1024 * 1024,
    subprotocol: HOST_SUBPROTOCOL,
  });
  private readonly upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const match = HOST_CHANNEL_PATH.exec(path);
    if (match) {
      void this.handleUpgrade(req, socket, head, decodeURIComponent(match[1]));
    }
  };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly jwt: JwtVerifierService,
    private readonly hosts: HostsRepository,
    private readonly hooks: HostHooks,
    private readonly metrics: MetricsService,
    private readonly router: HostRouterService,
  ) {}

  onApplicationBootstrap(): void {
    this.metrics.gauge('hosts_connected', 'Host daemons connected to this replica', [], (gauge) =>
      gauge.set(this.channels.size),
    );
    this.adapterHost.httpAdapter?.getHttpServer()?.on('upgrade', this.upgradeListener);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.adapterHost.httpAdapter?.getHttpServer()?.off('upgrade', this.upgradeListener);
    await this.channels.shutdown();
  }

  /** This replica's open connection for the host, if it holds one. */
  local(hostId: string): HostConnection | undefined {
    return this.channels.local(hostId);
  }

  private async handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    rawId: string,
  ): Promise<void> {
    await this.channels.upgrade(
      req,
      socket,
      head,
      async () => {
        const hostId = normalizeId(IdPrefix.Host, rawId);
        if (!hostId) {
          throw new DomainError(ErrorCode.NotFound, 'Not found');
        }
        const ownerId = await this.authorize(req);
        const existing = await this.hosts.getById(hostId);
        if (existing && existing.ownerId !== ownerId) {
          throw new DomainError(ErrorCode.Conflict, 'This host id is registered to another user');
        }
        return { hostId, ownerId };
      },
      (ws, { hostId, ownerId }) => this.accept(ws, hostId, ownerId),
    );
  }

  /** Who owns the connecting host: the bearer's user, or `local` from loopback in none mode. */
  private async authorize(req: IncomingMessage): Promise<string> {
    // Daemons authenticate by source address below, so only the browser Origin is checked here.
    assertLocalCaller(req.headers, this.config, { checkHost: false, kind: 'websocket' });
    if (this.config.auth.mode === 'none') {
      assertLoopbackDaemon(req.socket.remoteAddress, 'Hosts');
      return LOCAL_USER_ID;
    }
    return this.jwt.toPrincipal(await this.jwt.verifyRequest(req)).userId;
  }

  private accept(ws: WebSocket, hostId: string, ownerId: string): void {
    new HostConnection(ws, {
      hostId,
      ownerId,
      heartbeatMs: this.config.runners.heartbeatMs,
      onHello: (conn, params) => this.hello(conn, params as HostHelloParams),
      onRequest: (_conn, method) => Promise.reject(methodNotFound(method)),
      onNotification: (conn, method, params) => this.onNotification(conn, method, params),
      onClose: (conn, code) => this.channels.track(conn.hostId, this.onClose(conn, code)),
    });
  }

  private onNotification(connection: HostConnection, method: string, params: unknown): void {
    if (method === HostMethods.runnerExited) {
      const exited = params as RunnerExitedParams;
      if (typeof exited?.runner_id !== 'string') {
        return;
      }
      this.logger.log(
        `Host ${connection.hostId}: runner ${exited.runner_id} exited (${exited.exit_code ?? exited.signal ?? '?'})`,
      );
      this.hooks.session
        ?.onRunnerExited(connection.hostId, connection.ownerId, exited)
        .catch((error: Error) =>
          this.logger.warn(`runner.exited of ${exited.runner_id}: ${error.message}`),
        );
    } else if (method === HostMethods.capabilities) {
      const harnesses = (params as { harnesses?: unknown })?.harnesses;
      if (harnesses && typeof harnesses === 'object') {
        this.hosts
          .updateCapabilities(connection.hostId, connection.epoch, {
            harnesses: harnesses as Record<string, boolean | string>,
          })
          .catch((error: Error) => this.logger.warn(`host.capabilities: ${error.message}`));
      }
    }
  }

  private async hello(
    connection: HostConnection,
    params: HostHelloParams,
  ): Promise<HostHelloResult> {
    connection.checkHello(params, HOST_PROTOCOL_VERSION);
    const runners = Array.isArray(params.runners)
      ? params.runners.filter((r): r is string => typeof r === 'string').slice(0, 1000)
      : [];
    const harnesses = params.capabilities?.harnesses;
    const epoch = await this.hosts.register({
      hostId: connection.hostId,
      ownerId: connection.ownerId,
      name: String(params.name ?? connection.hostId).slice(0, MAX_NAME_LENGTH),
      version: String(params.version ?? '').slice(0, 100),
      replicaId: this.router.replicaId,
      capabilities: { harnesses: harnesses && typeof harnesses === 'object' ? harnesses : {} },
    });
    if (epoch === null) {
      setImmediate(() => connection.close(CloseCode.AuthFailure, 'host id owned by another user'));
      throw new RpcError(RPC_INVALID_PARAMS, 'This host id is registered to another user');
    }
    connection.epoch = epoch;
    connection.hello = { ...params, runners };
    this.channels.adopt(connection.hostId, connection);
    // Serves routed calls; an older connection on another replica closes (newest wins).
    this.router.hold(connection);
    this.logger.log(
      `Host ${connection.hostId} (${params.name}) connected (owner ${connection.ownerId}, epoch ${epoch})`,
    );
    connection.keepAlive(this.config.runners.heartbeatMs, () =>
      this.hosts.touch(connection.hostId, connection.epoch),
    );
    const bound = runners.length
      ? ((await this.hooks.session?.boundRunners(connection.hostId, runners)) ?? runners)
      : [];
    return {
      server_version: this.config.version,
      epoch,
      heartbeat_s: this.config.runners.heartbeatMs / 1000,
      stop_runners: runners.filter((r) => !bound.includes(r)),
    };
  }

  private async onClose(connection: HostConnection, code: number): Promise<void> {
    this.channels.forget(connection.hostId, connection);
    if (!connection.hello) {
      return;
    }
    this.router.release(connection);
    this.logger.log(
      `Host ${connection.hostId} disconnected (code ${code}, epoch ${connection.epoch})`,
    );
    await this.hosts.markDisconnected(connection.hostId, connection.epoch);
  }
}
