import { EventEmitter } from 'node:events';

import WebSocket from 'ws';

import { RpcChannel } from 'src/common/ws/rpc-channel';
import { RPC_DISCONNECTED, RPC_INVALID_PARAMS } from 'src/protocol/json-rpc';
import { CloseCode, Methods } from 'src/protocol/runner-protocol';

const H = 300;
const HELLO_MS = 1_000;

/** The parts of a `ws` socket the channel uses, recording what it sends and how it closes. */
class FakeSocket extends EventEmitter {
  readonly sent: Record<string, unknown>[] = [];
  closedWith?: number;
  paused = false;

  send(text: string): void {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }

  close(code: number): void {
    this.closedWith = code;
    this.emit('close', code);
  }

  terminate(): void {}

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** A frame from the daemon. */
  receive(message: unknown, binary = false): void {
    this.emit('message', Buffer.from(JSON.stringify(message)), binary);
  }
}

class TestChannel extends RpcChannel<{ protocol: number }> {
  readonly notifications: string[] = [];
  closedCode?: number;
  held = false;

  constructor(socket: FakeSocket) {
    super(
      socket as unknown as WebSocket,
      {
        kind: 'runner',
        id: 'runner_test',
        ownerId: 'alice',
        heartbeatMs: H,
        helloMethod: 'test.hello',
        helloTimeoutMs: HELLO_MS,
      },
      {
        onHello: async (channel, params) => {
          channel.checkHello(params as { protocol?: unknown }, 1);
          channel.hello = params as { protocol: number };
          return { ok: true };
        },
        onRequest: async (_channel, _method, params) => ({ echo: params }),
        onNotification: (channel, method) => (channel as TestChannel).notifications.push(method),
        onClose: (channel, code) => ((channel as TestChannel).closedCode = code),
      },
    );
  }

  hold(held: boolean): void {
    this.held = held;
    this.setReading(!held);
  }

  protected isReadingHeld(): boolean {
    return this.held;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe(RpcChannel.name, () => {
  let socket: FakeSocket;
  let channel: TestChannel;

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    socket = new FakeSocket();
    channel = new TestChannel(socket);
  });

  afterEach(() => {
    channel.close(1000, 'done');
    jest.useRealTimers();
  });

  const hello = async (protocol: unknown = 1) => {
    socket.receive({ jsonrpc: '2.0', id: 1, method: 'test.hello', params: { protocol } });
    await settle();
    return socket.sent.find((m) => m.id === 1);
  };

  it('should answer requests after the hello and pass notifications on, heartbeats aside', async () => {
    expect(await hello()).toMatchObject({ result: { ok: true } });
    socket.receive({ jsonrpc: '2.0', id: 2, method: 'x.echo', params: { a: 1 } });
    socket.receive({ jsonrpc: '2.0', method: Methods.heartbeat, params: {} });
    socket.receive({ jsonrpc: '2.0', method: 'x.note', params: {} });
    await settle();
    expect(socket.sent.find((m) => m.id === 2)).toMatchObject({ result: { echo: { a: 1 } } });
    expect(channel.notifications).toEqual(['x.note']);
    expect(channel.isOpen).toBe(true);
  });

  it('should refuse a request before the hello, then close with 4001', async () => {
    socket.receive({ jsonrpc: '2.0', id: 7, method: 'x.echo', params: {} });
    await settle();
    await settle();
    expect(socket.sent.find((m) => m.id === 7)).toMatchObject({
      error: { code: RPC_INVALID_PARAMS, message: 'test.hello must come first' },
    });
    expect(channel.closedCode).toBe(CloseCode.ProtocolError);
  });

  it('should drop a notification before the hello and close with 4001', async () => {
    socket.receive({ jsonrpc: '2.0', method: 'x.note', params: {} });
    await settle();
    expect(channel.notifications).toEqual([]);
    expect(channel.closedCode).toBe(CloseCode.ProtocolError);
  });

  it('should refuse a second hello, and close with 4002 on another protocol version', async () => {
    await hello();
    socket.receive({ jsonrpc: '2.0', id: 2, method: 'test.hello', params: { protocol: 1 } });
    await settle();
    expect(socket.sent.find((m) => m.id === 2)).toMatchObject({
      error: { message: 'test.hello was already received' },
    });
    expect(channel.isOpen).toBe(true);

    const otherSocket = new FakeSocket();
    const other = new TestChannel(otherSocket);
    otherSocket.receive({ jsonrpc: '2.0', id: 1, method: 'test.hello', params: { protocol: 9 } });
    await settle();
    await settle();
    expect(otherSocket.sent.find((m) => m.id === 1)).toMatchObject({
      error: { message: 'Unsupported protocol 9; this server speaks 1' },
    });
    expect(other.closedCode).toBe(CloseCode.UnsupportedVersion);
  });

  it('should close with 4001 when no hello came in time', () => {
    jest.advanceTimersByTime(HELLO_MS + 1);
    expect(channel.closedCode).toBe(CloseCode.ProtocolError);
  });

  it('should close with 4001 on a binary frame', async () => {
    await hello();
    socket.receive({ jsonrpc: '2.0', method: 'x.note' }, true);
    expect(channel.closedCode).toBe(CloseCode.ProtocolError);
    expect(channel.notifications).toEqual([]);
  });

  it('should send a heartbeat after H of silence and close with 4003 after 3H without frames', async () => {
    await hello();
    jest.advanceTimersByTime(H + H / 3);
    expect(socket.sent.some((m) => m.method === Methods.heartbeat)).toBe(true);
    expect(channel.isOpen).toBe(true);
    jest.advanceTimersByTime(3 * H);
    expect(channel.closedCode).toBe(CloseCode.HeartbeatTimeout);
  });

  it('should not count a paused read as silence', async () => {
    await hello();
    channel.hold(true);
    expect(socket.paused).toBe(true);
    jest.advanceTimersByTime(10 * H);
    expect(channel.isOpen).toBe(true);
    channel.hold(false);
    expect(socket.paused).toBe(false);
  });

  it('should fail its pending requests when the socket closes, once', async () => {
    await hello();
    const pending = channel.request('x.slow', {}, 10_000);
    socket.close(1006);
    await expect(pending).rejects.toMatchObject({ code: RPC_DISCONNECTED });
    channel.close(1000, 'again');
    expect(channel.closedCode).toBe(1006);
  });
});
