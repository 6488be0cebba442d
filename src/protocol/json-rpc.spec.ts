import {
  JsonRpcPeer,
  RPC_DISCONNECTED,
  RPC_METHOD_NOT_FOUND,
  RPC_TIMEOUT,
  RpcError,
} from 'src/protocol/json-rpc';

/** Two peers wired back to back, as over a socket. */
function pair(handlers: {
  onRequest?: (method: string, params: unknown) => unknown;
  onNotification?: (method: string, params: unknown) => void;
}) {
  const peers: { b?: JsonRpcPeer } = {};
  const a = new JsonRpcPeer({
    send: (text) => setImmediate(() => peers.b?.handleFrame(text)),
    onRequest: () => undefined,
    onNotification: () => undefined,
  });
  const b = new JsonRpcPeer({
    send: (text) => setImmediate(() => a.handleFrame(text)),
    onRequest: (method, params) => {
      if (!handlers.onRequest) {
        throw new RpcError(RPC_METHOD_NOT_FOUND, `Unknown method ${method}`);
      }
      return handlers.onRequest(method, params);
    },
    onNotification: handlers.onNotification ?? (() => undefined),
  });
  peers.b = b;
  return { a, b };
}

describe(JsonRpcPeer.name, () => {
  it('should answer requests with results and errors, keeping error data', async () => {
    const { a } = pair({
      onRequest: (method, params) => {
        if (method === 'add') {
          const { x, y } = params as { x: number; y: number };
          return { sum: x + y };
        }
        throw new RpcError(1001, 'unknown session', { code: 'session_unknown' });
      },
    });
    await expect(a.request('add', { x: 2, y: 3 }, 1000)).resolves.toEqual({ sum: 5 });
    const error = await a.request('turn.start', {}, 1000).catch((e: RpcError) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe(1001);
    expect((error as RpcError).dataCode).toBe('session_unknown');
  });

  it('should deliver notifications and accept batches', async () => {
    const got: unknown[] = [];
    const { b } = pair({ onNotification: (method, params) => got.push([method, params]) });
    b.handleFrame(
      JSON.stringify([
        { jsonrpc: '2.0', method: 'n', params: 1 },
        { jsonrpc: '2.0', method: 'n', params: 2 },
      ]),
    );
    expect(got).toEqual([
      ['n', 1],
      ['n', 2],
    ]);
  });

  it('should time out calls nobody answers, and fail pending calls when closed', async () => {
    const silent = new JsonRpcPeer({
      send: () => undefined,
      onRequest: () => undefined,
      onNotification: () => undefined,
    });
    await expect(silent.request('x', {}, 20)).rejects.toMatchObject({ code: RPC_TIMEOUT });
    const pending = silent.request('y', {}, 10_000);
    silent.close('gone');
    await expect(pending).rejects.toMatchObject({ code: RPC_DISCONNECTED });
    await expect(silent.request('z', {}, 1000)).rejects.toMatchObject({ code: RPC_DISCONNECTED });
  });

  it('should answer unparsable frames with a parse error and refuse oversized ones', () => {
    const sent: string[] = [];
    const errors: Error[] = [];
    const peer = new JsonRpcPeer({
      send: (text) => sent.push(text),
      onRequest: () => undefined,
      onNotification: () => undefined,
      onProtocolError: (e) => errors.push(e),
      maxFrameBytes: 120,
    });
    peer.handleFrame('{nope');
    expect(JSON.parse(sent[0])).toMatchObject({ id: null, error: { code: -32700 } });
    peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'x', params: 'y'.repeat(200) }));
    expect(errors.map((e) => e.message)).toContain('frame too large');
  });
});
