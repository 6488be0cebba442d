import { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';

import { Logger } from '@nestjs/common';
import { WebSocket, WebSocketServer } from 'ws';

import { DomainError } from 'src/common/errors/domain.error';
import { writeRawErrorResponse } from 'src/common/errors/raw-error-response';
import { RpcChannel } from 'src/common/ws/rpc-channel';
import { CloseCode } from 'src/protocol/runner-protocol';

export interface ChannelRegistryOptions {
  /** The WebSocket subprotocol the daemon must offer. */
  subprotocol: string;
  /** A frame over this closes the connection with 1009 before it is buffered whole. */
  maxFrameBytes: number;
  logger: Logger;
}

/**
 * A gateway's live daemon channels on this replica, one per daemon id (runner or host): newest
 * connection wins, and shutdown waits for the disconnects being recorded. Also performs the
 * upgrade once the gateway has authorised it, or refuses it with a plain HTTP error.
 */
export class ChannelRegistry<C extends RpcChannel<unknown>> {
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<string, C>();
  /** Disconnects still being recorded. */
  private readonly closing = new Set<Promise<void>>();

  constructor(private readonly options: ChannelRegistryOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      handleProtocols: (protocols) =>
        protocols.has(options.subprotocol) ? options.subprotocol : false,
    });
  }

  get size(): number {
    return this.connections.size;
  }

  /**
   * Upgrades the request once `authorize` resolves (to what `accept` needs), or answers it with
   * the refusal's status and our JSON error body.
   */
  async upgrade<T>(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    authorize: () => Promise<T>,
    accept: (ws: WebSocket, authorized: T) => void,
  ): Promise<void> {
    try {
      const authorized = await authorize();
      this.wss.handleUpgrade(req, socket, head, (ws) => accept(ws, authorized));
    } catch (error) {
      // The verifier's own 401/403 and our refusals are DomainErrors; anything else is a bug.
      if (!(error instanceof DomainError)) {
        this.options.logger.error(
          `Upgrade failed: ${(error as Error).message}`,
          (error as Error).stack,
        );
      }
      writeRawErrorResponse(socket, error);
    }
  }

  /** The open connection for the id, once it said hello. */
  local(id: string): C | undefined {
    const connection = this.connections.get(id);
    return connection?.isOpen && connection.hello ? connection : undefined;
  }

  /** Records a connection that said hello; an older one for the same id is closed. */
  adopt(id: string, connection: C): void {
    const previous = this.connections.get(id);
    this.connections.set(id, connection);
    if (previous && previous !== connection) {
      previous.close(CloseCode.Replaced, 'replaced by a newer connection');
    }
  }

  /** Forgets the connection unless a newer one replaced it. */
  forget(id: string, connection: C): void {
    if (this.connections.get(id) === connection) {
      this.connections.delete(id);
    }
  }

  /** Keeps the recording of a disconnect until it lands, so shutdown can wait for it. */
  track(id: string, recording: Promise<void>): void {
    const closing = recording
      .catch((error: Error) => this.options.logger.error(`Disconnect of ${id}: ${error.message}`))
      .finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }

  /** Closes every channel, then waits for their disconnects to be recorded (before the database closes). */
  async shutdown(): Promise<void> {
    for (const connection of this.connections.values()) {
      connection.close(CloseCode.ServerShutdown, 'server shutting down');
    }
    this.wss.close();
    await Promise.allSettled([...this.closing]);
  }
}
