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
import { RawData, WebSocket, WebSocketServer } from 'ws';

import { AuthPrincipal, LOCAL_PRINCIPAL } from 'src/common/auth/auth-principal';
import { JwtVerifierService } from 'src/common/auth/jwt-verifier.service';
import { assertLocalCaller } from 'src/common/auth/local-origin';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { writeRawErrorResponse } from 'src/common/errors/raw-error-response';
import { IdPrefix, normalizeId } from 'src/common/ids/ids';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnerHooks, RunnerTerminalsHandler } from 'src/modules/runners/runner-hooks';
import { RunnerRpcService, RunnerTarget } from 'src/modules/runners/runner-rpc.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { TerminalViewer, parseClientFrame } from 'src/modules/terminals/terminal-viewer';
import { TerminalsService } from 'src/modules/terminals/terminals.service';
import {
  TERMINAL_ATTACH_PATH,
  TerminalExitParams,
  TerminalMethods,
  TerminalOutputParams,
} from 'src/protocol/terminal-protocol';

/** The subprotocol a browser client names (and gets back) when it sends its token as another. */
export const ATTACH_SUBPROTOCOL = 'omnigent.terminal.v1';
/** `Sec-WebSocket-Protocol: omnigent.terminal.v1, omnigent.bearer.<jwt>`: browsers cannot set headers. */
const BEARER_SUBPROTOCOL = 'omnigent.bearer.';

/** Largest client frame (input or a control message). */
const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/** Viewers one terminal may have at once (each costs a socket and a copy of the output). */
export const MAX_VIEWERS_PER_TERMINAL = 32;
/** A viewer whose socket has this much unsent output is too slow and is closed. */
const MAX_VIEWER_BACKLOG_BYTES = 4 * 1024 * 1024;

/** Close codes of the attach socket. */
export const AttachClose = {
  Exited: 1000,
  ServerShutdown: 1001,
  /** Deleted, or ended with its session or runner. */
  Closed: 4404,
  RunnerGone: 1011,
  TooSlow: 1013,
} as const;

/** The viewers of one terminal, and where its output must come from. */
interface Feed {
  sessionId: string;
  target: RunnerTarget;
  /** The runner connection its viewers attached through. */
  connectionId: string | undefined;
  viewers: Set<TerminalViewer>;
}

/**
 * `WS /v1/sessions/{sid}/resources/terminals/{tid}/attach` (spec/api-reference.md §13): the
 * upgrade is authorised before it is accepted (401/403/404/409/503 as plain HTTP answers), the
 * scrollback is replayed, then the terminal's output is fanned out to every viewer and their
 * input (owner only; `?read_only=true` attaches read-only with read access) goes to the runner.
 */
@Injectable()
export class TerminalAttachGateway
  implements OnApplicationBootstrap, BeforeApplicationShutdown, RunnerTerminalsHandler
{
  private readonly logger = new Logger('TerminalAttach');
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
    // Never echo the bearer entry: only our own name is selected.
    handleProtocols: (protocols) =>
      protocols.has(ATTACH_SUBPROTOCOL) ? ATTACH_SUBPROTOCOL : false,
  });
  private readonly feeds = new Map<string, Feed>();
  private readonly upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const match = TERMINAL_ATTACH_PATH.exec(path);
    if (match) {
      void this.handleUpgrade(req, socket, head, match[1], match[2]);
    }
  };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly jwt: JwtVerifierService,
    private readonly access: SessionAccessService,
    private readonly terminals: TerminalsService,
    private readonly rpc: RunnerRpcService,
    hooks: RunnerHooks,
  ) {
    hooks.registerTerminals(this);
  }

  onApplicationBootstrap(): void {
    this.adapterHost.httpAdapter?.getHttpServer()?.on('upgrade', this.upgradeListener);
  }

  beforeApplicationShutdown(): void {
    this.adapterHost.httpAdapter?.getHttpServer()?.off('upgrade', this.upgradeListener);
    for (const terminalId of [...this.feeds.keys()]) {
      this.closeFeed(terminalId, AttachClose.ServerShutdown, 'server shutting down');
    }
    this.wss.close();
  }

  /** Viewers attached to a terminal right now (tests, metrics). */
  viewerCount(terminalId: string): number {
    return this.feeds.get(terminalId)?.viewers.size ?? 0;
  }

  /** The terminal was deleted through the API: its viewers are told so. */
  terminalDeleted(terminalId: string): void {
    this.closeFeed(terminalId, AttachClose.Closed, 'terminal closed');
  }

  onNotification(connection: RunnerConnection, method: string, params: unknown): void {
    const ref = params as { session_id?: unknown; terminal_id?: unknown } | undefined;
    const feed = typeof ref?.terminal_id === 'string' ? this.feeds.get(ref.terminal_id) : undefined;
    // Only the runner (and owner) the viewers were authorised against may feed them.
    if (
      !feed ||
      feed.sessionId !== ref?.session_id ||
      feed.target.runnerId !== connection.runnerId ||
      feed.target.ownerId !== connection.ownerId
    ) {
      return;
    }
    if (method === TerminalMethods.output) {
      const { offset, data } = params as TerminalOutputParams;
      if (typeof data !== 'string' || !Number.isSafeInteger(offset) || offset < 0) {
        return;
      }
      const bytes = Buffer.from(data, 'base64');
      for (const viewer of feed.viewers) {
        viewer.output(offset, bytes);
      }
    } else if (method === TerminalMethods.exit) {
      const { exit_code: code, closed } = params as TerminalExitParams;
      this.closeFeed(
        String(ref?.terminal_id),
        closed ? AttachClose.Closed : AttachClose.Exited,
        closed ? 'terminal closed' : `terminal exited (${code})`,
      );
    }
  }

  onDisconnect(connection: RunnerConnection): void {
    for (const [terminalId, feed] of [...this.feeds.entries()]) {
      if (feed.connectionId === connection.connectionId) {
        this.closeFeed(terminalId, AttachClose.RunnerGone, 'the runner disconnected');
      }
    }
  }

  private async handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    rawSessionId: string,
    rawTerminalId: string,
  ): Promise<void> {
    const readOnly = new URL(req.url ?? '/', 'http://localhost').searchParams.get('read_only');
    const viewer = new TerminalViewer(readOnly === 'true' || readOnly === '1');
    let terminalId = '';
    try {
      const principal = await this.authenticate(req);
      const sessionId = normalizeId(IdPrefix.Session, safeDecode(rawSessionId));
      terminalId = normalizeId(IdPrefix.Terminal, safeDecode(rawTerminalId)) ?? '';
      if (!sessionId || !terminalId) {
        throw new DomainError(ErrorCode.NotFound, 'Not found.');
      }
      const session = await this.access.require(
        principal,
        sessionId,
        viewer.readOnly ? SessionLevel.Read : SessionLevel.Owner,
      );
      // Join the feed before asking for the scrollback: output that crosses the snapshot is
      // queued and trimmed by offset (TerminalViewer).
      this.join(terminalId, session.id, session, viewer);
      const snapshot = await this.terminals.snapshot(session, terminalId);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.accept(ws, terminalId, session, viewer);
        viewer.start(
          {
            send: (data) => {
              if (ws.bufferedAmount > MAX_VIEWER_BACKLOG_BYTES) {
                viewer.close(AttachClose.TooSlow, 'viewer too slow; attach again');
                return;
              }
              ws.send(data, { binary: true });
            },
            close: (code, reason) => ws.close(code, reason),
          },
          Buffer.from(snapshot.data, 'base64'),
          snapshot.end,
        );
        if (!snapshot.running) {
          viewer.close(AttachClose.Exited, 'terminal exited');
        }
      });
    } catch (error) {
      this.leave(terminalId, viewer);
      if (!(error instanceof DomainError)) {
        this.logger.error(`Attach failed: ${(error as Error).message}`, (error as Error).stack);
      }
      writeRawErrorResponse(socket, error);
    }
  }

  private accept(
    ws: WebSocket,
    terminalId: string,
    target: RunnerTarget & { id: string },
    viewer: TerminalViewer,
  ): void {
    ws.on('message', (data, isBinary) => {
      if (viewer.readOnly || viewer.closed) {
        return;
      }
      const command = parseClientFrame(toBuffer(data), isBinary);
      const ref = { session_id: target.id, terminal_id: terminalId };
      if (command.kind === 'input') {
        this.rpc.notify(target, TerminalMethods.input, {
          ...ref,
          data: command.data.toString('base64'),
        });
      } else if (command.kind === 'resize') {
        this.rpc.notify(target, TerminalMethods.resize, {
          ...ref,
          cols: command.cols,
          rows: command.rows,
        });
      }
    });
    ws.on('close', () => {
      viewer.closed = true;
      this.leave(terminalId, viewer);
    });
    ws.on('error', () => ws.terminate());
  }

  private join(
    terminalId: string,
    sessionId: string,
    target: RunnerTarget,
    viewer: TerminalViewer,
  ): void {
    let feed = this.feeds.get(terminalId);
    const connectionId = this.rpc.connectionId(target);
    if (feed && (feed.connectionId !== connectionId || feed.sessionId !== sessionId)) {
      // Its runner reconnected (or the terminal moved): the old viewers' feed is gone.
      this.closeFeed(terminalId, AttachClose.RunnerGone, 'the runner reconnected');
      feed = undefined;
    }
    if (feed && feed.viewers.size >= MAX_VIEWERS_PER_TERMINAL) {
      throw new DomainError(
        ErrorCode.Conflict,
        `This terminal already has ${MAX_VIEWERS_PER_TERMINAL} viewers; close one first`,
      );
    }
    if (!feed) {
      feed = {
        sessionId,
        target: { runnerId: target.runnerId, ownerId: target.ownerId },
        connectionId,
        viewers: new Set(),
      };
      this.feeds.set(terminalId, feed);
    }
    feed.viewers.add(viewer);
  }

  private leave(terminalId: string, viewer: TerminalViewer): void {
    const feed = this.feeds.get(terminalId);
    if (feed?.viewers.delete(viewer) && feed.viewers.size === 0) {
      this.feeds.delete(terminalId);
    }
  }

  private closeFeed(terminalId: string, code: number, reason: string): void {
    const feed = this.feeds.get(terminalId);
    this.feeds.delete(terminalId);
    for (const viewer of feed?.viewers ?? []) {
      viewer.close(code, reason);
    }
  }

  /** Who is attaching: the same rules as the global guard, before the upgrade is accepted. */
  private async authenticate(req: IncomingMessage): Promise<AuthPrincipal> {
    if (this.config.auth.mode !== 'none') {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim())
        .find((p) => p.startsWith(BEARER_SUBPROTOCOL));
      if (!req.headers.authorization && offered) {
        req.headers.authorization = `Bearer ${offered.slice(BEARER_SUBPROTOCOL.length)}`;
      }
      return this.jwt.authenticate(req);
    }
    assertLocalCaller(req.headers, this.config, { checkHost: true, kind: 'websocket' });
    return LOCAL_PRINCIPAL;
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return '';
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) {
    return data;
  }
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
