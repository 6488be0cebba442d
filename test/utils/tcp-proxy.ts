import net from 'node:net';

export interface TcpProxy {
  url: string;
  /** Severs every open connection (as a network drop would); new ones still go through. */
  cut(): void;
  /**
   * Arms a one-shot cut: the first chunk from the target containing `text` is not delivered, and
   * every connection is severed instead (the server's frames to a runner are not masked, so an
   * answer can be recognised on the wire: this drops the link while that call is in flight).
   */
  cutWhenTargetSends(text: string): Promise<void>;
  close(): Promise<void>;
}

/** A loopback TCP proxy to `target` (host:port), to drop a runner's connection on demand. */
export function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let armed: { text: string; fired: () => void } | undefined;
  const cutAll = () => sockets.forEach((s) => s.destroy());
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (armed && chunk.includes(armed.text)) {
        const { fired } = armed;
        armed = undefined;
        cutAll();
        fired();
        return;
      }
      client.write(chunk);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        cut: cutAll,
        cutWhenTargetSends: (text) =>
          new Promise<void>((fired) => {
            armed = { text, fired };
          }),
        close: () =>
          new Promise<void>((done) => {
            sockets.forEach((s) => s.destroy());
            server.close(() => done());
          }),
      });
    });
  });
}
