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
import { WebSocketServer } from 'ws';

import { LOCAL_USER_ID } from 'src/common/auth/auth-principal';
import { JwtVerifierService } from 'src/common/auth/jwt-verifier.service';
import { assertLocalCaller, isLoopbackAddress } from 'src/common/auth/local-origin';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { writeRawErrorResponse } from 'src/common/errors/raw-error-response';
import { isRunnerId } from 'src/common/ids/ids';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { methodNotFound, RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnerHooks } from 'src/modules/runners/runner-hooks';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { RunnerRouterService } from 'src/modules/runners/runner-router.service';
import { RunnersRepository } from 'src/modules/runners/runners.repository';
import { RunnersService } from 'src/modules/runners/runners.service';
import { HOST_CHANNEL_PATH } from 'src/protocol/host-protocol';
import { TERMINAL_ATTACH_PATH } from 'src/protocol/terminal-protocol';
import { RPC_INVALID_PARAMS, RpcError } from 'src/protocol/json-rpc';
import {
  CloseCode,
  FileGetParams,
  HelloParams,
  HelloResult,
  Methods,
  RUNNER_PROTOCOL_VERSION,
  RUNNER_SUBPROTOCOL,
  SessionEventParams,
  SessionHistoryParams,
  Timeouts,
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
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<string, RunnerConnection>();
  /** Disconnects still being recorded. */
  private readonly closing = new Set<Promise<void>>();
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
    // A frame over the limit closes the connection with 1009 before it is buffered whole.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.runners.limits.maxFrameBytes,
      handleProtocols: (protocols) =>
        protocols.has(RUNNER_SUBPROTOCOL) ? RUNNER_SUBPROTOCOL : false,
    });
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer();
    server?.on('upgrade', this.upgradeListener);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.adapterHost.httpAdapter?.getHttpServer()?.off('upgrade', this.upgradeListener);
    for (const connection of this.connections.values()) {
      connection.close(CloseCode.ServerShutdown, 'server shutting down');
    }
    this.wss.close();
    // Each closed channel is recorded as disconnected; let those writes land before the
    // database closes (they would fail, or log after the app is gone).
    await Promise.allSettled([...this.closing]);
  }

  /** This replica's open connection for the runner, if it holds one. */
  local(runnerId: string): RunnerConnection | undefined {
    const connection = this.connections.get(runnerId);
    return connection?.isOpen && connection.hello ? connection : undefined;
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (HOST_CHANNEL_PATH.test(path) || TERMINAL_ATTACH_PATH.test(path)) {
      return; // The host gateway / the terminal attach gateway answers this one.
    }
    const match = CHANNEL_PATH.exec(path);
    try {
      if (!match) {
        throw new DomainError(ErrorCode.NotFound, 'Not found');
      }
      const runnerId = decodeURIComponent(match[1]);
      if (!isRunnerId(runnerId)) {
        throw new DomainError(ErrorCode.NotFound, 'Not found');
      }
      const ownerId = await this.authorize(req, runnerId);
      await this.runnerService.admit(runnerId, ownerId);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, runnerId, ownerId));
    } catch (error) {
      // The verifier's own 401/403 and our refusals are DomainErrors; anything else is a bug.
      if (!(error instanceof DomainError)) {
        this.logger.error(`Upgrade failed: ${(error as Error).message}`, (error as Error).stack);
      }
      writeRawErrorResponse(socket, error);
    }
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
      if (!isLoopbackAddress(req.socket.remoteAddress)) {
        throw new DomainError(
          ErrorCode.Unauthorized,
          'Runners must connect from this machine in local mode',
        );
      }
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

  private accept(ws: import('ws').WebSocket, runnerId: string, ownerId: string): void {
    const connection = new RunnerConnection(ws, {
      runnerId,
      ownerId,
      heartbeatMs: this.config.runners.heartbeatMs,
      limits: this.config.runners.limits,
      onRequest: (conn, method, params) => this.onRequest(conn, method, params),
      onNotification: (conn, method, params) => this.onNotification(conn, method, params),
      onClose: (conn, code) => {
        const closing = this.onClose(conn, code)
          .catch((error: Error) =>
            this.logger.error(`Disconnect of ${conn.runnerId}: ${error.message}`),
          )
          .finally(() => this.closing.delete(closing));
        this.closing.add(closing);
      },
    });
    const helloTimer = setTimeout(() => {
      if (!connection.hello) {
        connection.close(CloseCode.ProtocolError, 'expected runner.hello');
      }
    }, Timeouts.helloMs);
    helloTimer.unref();
  }

  private async onRequest(
    connection: RunnerConnection,
    method: string,
    params: unknown,
  ): Promise<unknown> {
    if (method === Methods.hello) {
      return this.hello(connection, params as HelloParams);
    }
    if (!connection.hello) {
      setImmediate(() => connection.close(CloseCode.ProtocolError, 'expected runner.hello first'));
      throw new RpcError(RPC_INVALID_PARAMS, 'runner.hello must come first');
    }
    switch (method) {
      case Methods.toolAuthorize:
        return this.hooks.session.onToolAuthorize(connection, params as ToolAuthorizeParams);
      case Methods.toolReview:
        return this.hooks.session.onToolReview(connection, params as ToolReviewParams);
      case Methods.sessionHistory:
        return this.hooks.session.onSessionHistory(connection, params as SessionHistoryParams);
      case Methods.fileGet:
        return this.hooks.files.onFileGet(connection, params as FileGetParams);
      default:
        throw methodNotFound(method);
    }
  }

  private onNotification(connection: RunnerConnection, method: string, params: unknown): void {
    if (!connection.hello) {
      connection.close(CloseCode.ProtocolError, 'expected runner.hello first');
      return;
    }
    if (method === Methods.sessionEvent) {
      this.hooks.session.onSessionEvent(connection, params as SessionEventParams);
    } else if (method.startsWith('terminal.')) {
      this.hooks.terminals?.onNotification(connection, method, params);
    }
  }

  private async hello(connection: RunnerConnection, params: HelloParams): Promise<HelloResult> {
    if (connection.hello) {
      throw new RpcError(RPC_INVALID_PARAMS, 'runner.hello was already received');
    }
    if (!params || params.protocol !== RUNNER_PROTOCOL_VERSION) {
      setImmediate(() =>
        connection.close(CloseCode.UnsupportedVersion, 'unsupported protocol version'),
      );
      throw new RpcError(
        RPC_INVALID_PARAMS,
        `Unsupported protocol ${params?.protocol}; this server speaks ${RUNNER_PROTOCOL_VERSION}`,
      );
    }
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
    const previous = this.connections.get(connection.runnerId);
    this.connections.set(connection.runnerId, connection);
    this.metrics.runnersConnected.set(this.connections.size);
    if (previous && previous !== connection) {
      // Newest connection wins (spec/runner-protocol.md §9); on other replicas through the bus.
      previous.close(CloseCode.Replaced, 'replaced by a newer connection');
    }
    this.router.hold(connection);
    this.logger.log(
      `Runner ${connection.runnerId} connected (owner ${connection.ownerId}, epoch ${connection.epoch}, ` +
        `harnesses ${hello.capabilities?.harnesses?.join(',') ?? '-'})`,
    );
    const touch = setInterval(() => {
      if (!connection.isOpen) {
        clearInterval(touch);
        return;
      }
      this.runners
        .touch(connection.runnerId, connection.epoch)
        .catch((error: Error) =>
          this.logger.warn(`Could not record ${connection.runnerId} as alive: ${error.message}`),
        );
    }, this.config.runners.heartbeatMs);
    touch.unref();
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
    if (this.connections.get(connection.runnerId) === connection) {
      this.connections.delete(connection.runnerId);
      this.metrics.runnersConnected.set(this.connections.size);
    }
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
