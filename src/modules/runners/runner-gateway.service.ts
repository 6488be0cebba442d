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
import { isRunnerId } from 'src/common/ids/ids';
import { ChannelRegistry } from 'src/common/ws/channel-registry';
import { methodNotFound } from 'src/common/ws/rpc-channel';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnerHooks } from 'src/modules/runners/runner-hooks';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { RunnerRouterService } from 'src/modules/runners/runner-router.service';
import { RunnersRepository } from 'src/modules/runners/runners.repository';
import { RunnersService } from 'src/modules/runners/runners.service';
import { HOST_CHANNEL_PATH } from 'src/protocol/host-protocol';
import { TERMINAL_ATTACH_PATH } from 'src/protocol/terminal-protocol';
import {
  FileGetParams,
  HelloParams,
  HelloResult,
  Methods,
  RUNNER_PROTOCOL_VERSION,
  RUNNER_SUBPROTOCOL,
  SessionCreateChildParams,
  SessionEventParams,
  SessionHistoryParams,
  ToolAuthorizeParams,
  ToolReviewParams,
} from 'src/protocol/runner-protocol';

const CHANNEL_PATH = /^\/v1\/runners\/([^/]+)\/channel$/;
const TUNNEL_TOKEN_HEADER = 'x-omnigent-runner-tunnel-token';

/**
 * The runner channel endpoint `GET /v1/runners/{id}/channel` (spec/runner-protocol.md §3): the
 * WebSocket upgrade is authorised first and refused with a real HTTP status; then the runner
 * must say `runner.hello` within 10 s. Holds this replica's live runner connections.
 */
@Injectable()
export class RunnerGatewayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RunnerGateway');
  private readonly channels: ChannelRegistry<RunnerConnection>;
  private readonly upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    void this.handleUpgrade(req, socket, head);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly jwt: JwtVerifierService,
    private readonly metrics: MetricsService,
    private readonly runners: RunnersRepository,
    private readonly runnerService: RunnersService,
    private readonly hooks: RunnerHooks,
    private readonly router: RunnerRouterService,
  ) {
    this.channels = new ChannelRegistry({
      logger: this.logger,
      maxFrameBytes: config.runners.limits.maxFrameBytes,
      subprotocol: RUNNER_SUBPROTOCOL,
    });
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer();
    server?.on('upgrade', this.upgradeListener);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.adapterHost.httpAdapter?.getHttpServer()?.off('upgrade', this.upgradeListener);
    await this.channels.shutdown();
  }

  /** This replica's open connection for the runner, if it holds one. */
  local(runnerId: string): RunnerConnection | undefined {
    return this.channels.local(runnerId);
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (HOST_CHANNEL_PATH.test(path) || TERMINAL_ATTACH_PATH.test(path)) {
      return; // The host gateway / the terminal attach gateway answers this one.
    }
    const match = CHANNEL_PATH.exec(path);
    await this.channels.upgrade(
      req,
      socket,
      head,
      async () => {
        const runnerId = match ? decodeURIComponent(match[1]) : '';
        if (!isRunnerId(runnerId)) {
          throw new DomainError(ErrorCode.NotFound, 'Not found');
        }
        const ownerId = await this.authorize(req, runnerId);
        await this.runnerService.admit(runnerId, ownerId);
        return { ownerId, runnerId };
      },
      (ws, { ownerId, runnerId }) => this.accept(ws, runnerId, ownerId),
    );
  }

  /** Who owns the connecting runner (spec/runner-protocol.md §3, spec/auth.md §5.4). */
  private async authorize(req: IncomingMessage, runnerId: string): Promise<string> {
    // Daemons authenticate by source address below, so only the browser Origin is checked here.
    assertLocalCaller(req.headers, this.config, { checkHost: false, kind: 'websocket' });
    const bindingToken = req.headers[TUNNEL_TOKEN_HEADER];
    if (typeof bindingToken === 'string' && bindingToken.length > 0) {
      const launch = await this.runnerService.launchFor(runnerId, bindingToken);
      if (!launch) {
        throw new DomainError(
          ErrorCode.Unauthorized,
          'Unknown or expired binding token for this runner id',
        );
      }
      return launch.ownerId;
    }
    if (this.config.auth.mode === 'none') {
      assertLoopbackDaemon(req.socket.remoteAddress, 'Runners');
      return LOCAL_USER_ID;
    }
    const runnerClaims = this.jwt.verifyRunnerToken(req);
    if (runnerClaims) {
      if (runnerClaims.runner_id !== runnerId) {
        throw new DomainError(ErrorCode.Forbidden, 'This runner token is for another runner');
      }
      return runnerClaims.sub as string;
    }
    return this.jwt.toPrincipal(await this.jwt.verifyRequest(req)).userId;
  }

  private accept(ws: WebSocket, runnerId: string, ownerId: string): void {
    new RunnerConnection(ws, {
      runnerId,
      ownerId,
      heartbeatMs: this.config.runners.heartbeatMs,
      limits: this.config.runners.limits,
      onHello: (conn, params) => this.hello(conn, params as HelloParams),
      onRequest: (conn, method, params) => this.onRequest(conn, method, params),
      onNotification: (conn, method, params) => this.onNotification(conn, method, params),
      onClose: (conn, code) => this.channels.track(conn.runnerId, this.onClose(conn, code)),
    });
  }

  private async onRequest(
    connection: RunnerConnection,
    method: string,
    params: unknown,
  ): Promise<unknown> {
    switch (method) {
      case Methods.toolAuthorize:
        return this.hooks.session.onToolAuthorize(connection, params as ToolAuthorizeParams);
      case Methods.toolReview:
        return this.hooks.session.onToolReview(connection, params as ToolReviewParams);
      case Methods.sessionHistory:
        return this.hooks.session.onSessionHistory(connection, params as SessionHistoryParams);
      case Methods.fileGet:
        return this.hooks.files.onFileGet(connection, params as FileGetParams);
      case Methods.sessionCreateChild:
        return this.hooks.children.onCreateChild(connection, params as SessionCreateChildParams);
      default:
        throw methodNotFound(method);
    }
  }

  private onNotification(connection: RunnerConnection, method: string, params: unknown): void {
    if (method === Methods.sessionEvent) {
      this.hooks.session.onSessionEvent(connection, params as SessionEventParams);
    } else if (method.startsWith('terminal.')) {
      this.hooks.terminals?.onNotification(connection, method, params);
    }
  }

  private async hello(connection: RunnerConnection, params: HelloParams): Promise<HelloResult> {
    connection.checkHello(params, RUNNER_PROTOCOL_VERSION);
    const hello: HelloParams = {
      ...params,
      sessions: Array.isArray(params.sessions) ? params.sessions : [],
    };
    connection.epoch = await this.runners.register(
      connection.runnerId,
      connection.ownerId,
      this.router.replicaId,
      {
        runner_version: hello.runner_version,
        capabilities: hello.capabilities,
      },
    );
    connection.hello = hello;
    // Newest connection wins (spec/runner-protocol.md §9); on other replicas through the bus.
    this.channels.adopt(connection.runnerId, connection);
    this.metrics.runnersConnected.set(this.channels.size);
    this.router.hold(connection);
    this.logger.log(
      `Runner ${connection.runnerId} connected (owner ${connection.ownerId}, epoch ${connection.epoch}, ` +
        `harnesses ${hello.capabilities?.harnesses?.join(',') ?? '-'})`,
    );
    connection.keepAlive(this.config.runners.heartbeatMs, () =>
      this.runners.touch(connection.runnerId, connection.epoch),
    );
    const actions = await this.hooks.session.onHello(connection, hello);
    setImmediate(() => this.hooks.session.afterHello(connection));
    return {
      server_version: this.config.version,
      connection_id: connection.connectionId,
      epoch: connection.epoch,
      heartbeat_s: this.config.runners.heartbeatMs / 1000,
      runner_id: connection.runnerId,
      ...actions,
    };
  }

  private async onClose(connection: RunnerConnection, code: number): Promise<void> {
    this.channels.forget(connection.runnerId, connection);
    this.metrics.runnersConnected.set(this.channels.size);
    if (!connection.hello) {
      return;
    }
    this.router.release(connection);
    this.logger.log(
      `Runner ${connection.runnerId} disconnected (code ${code}, epoch ${connection.epoch})`,
    );
    try {
      await this.runners.markDisconnected(connection.runnerId, connection.epoch);
    } catch (error) {
      this.logger.warn(
        `Could not record ${connection.runnerId} as disconnected: ${(error as Error).message}`,
      );
    }
    this.hooks.session.onDisconnect(connection);
    this.hooks.terminals?.onDisconnect(connection);
  }
}

/** Answers an upgrade request with a plain HTTP error and our JSON error body. */
