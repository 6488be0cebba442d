import WebSocket from 'ws';

import { RpcChannel, RpcChannelHandlers } from 'src/common/ws/rpc-channel';
import { HostHelloParams, HostMethods, HostTimeouts } from 'src/protocol/host-protocol';

export interface HostConnectionOptions extends RpcChannelHandlers<HostConnection> {
  hostId: string;
  ownerId: string;
  heartbeatMs: number;
}

/** One host daemon's WebSocket: the same channel rules as a runner's (RpcChannel). */
export class HostConnection extends RpcChannel<HostHelloParams> {
  readonly hostId: string;

  constructor(socket: WebSocket, options: HostConnectionOptions) {
    super(
      socket,
      {
        kind: 'host',
        id: options.hostId,
        ownerId: options.ownerId,
        heartbeatMs: options.heartbeatMs,
        helloMethod: HostMethods.hello,
        helloTimeoutMs: HostTimeouts.helloMs,
      },
      options,
    );
    this.hostId = options.hostId;
  }
}
