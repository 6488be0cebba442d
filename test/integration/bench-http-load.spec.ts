import { Agent, request } from 'node:http';
import { AddressInfo, createServer, Server, Socket } from 'node:net';

import { interleaved, NetClient, requestBytes } from 'bench/http-load';

/**
 * Here, not in test/bench: the guard's Jest run holds the guard alone (one file, in band).
 *
 * The bench's client (bench/http-load.ts): with `BENCH_CLIENT=net` the loads go through
 * `NetClient`, which must send what node:http's client sends (the server's work is what is
 * measured) and count each answer's bytes as node:http's would.
 */
describe('bench/http-load', () => {
  let server: Server;
  let url: URL;
  let onRequest: (socket: Socket, request: string) => void;
  const received: string[] = [];

  beforeAll(async () => {
    server = createServer((socket) => {
      socket.on('data', (chunk) => {
        received.push(chunk.toString('latin1'));
        onRequest(socket, chunk.toString('latin1'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/sessions?limit=50`,
    );
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  beforeEach(() => {
    received.length = 0;
  });

  const answer = (status: number, body: string) => (socket: Socket) =>
    socket.write(
      `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );

  it.each([[{}], [{ 'if-none-match': '"abc"' }]])(
    'should send the request bytes node:http sends (headers %j)',
    async (headers: Record<string, string>) => {
      onRequest = answer(200, '{}');
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      await new Promise<void>((resolve, reject) => {
        const req = request(url, { agent, headers }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
      agent.destroy();
      expect(received).toEqual([requestBytes(url, headers).toString('latin1')]);
    },
  );

  it('should read answers split anywhere, back to back on one connection', async () => {
    const body = 'x'.repeat(70_000);
    const whole = `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    onRequest = (socket) => {
      // The head split in two, then the body in uneven pieces.
      for (const [from, to] of [
        [0, 10],
        [10, 40],
        [40, 1000],
        [1000, whole.length],
      ]) {
        socket.write(whole.slice(from, to));
      }
    };
    const client = new NetClient(url, requestBytes(url, {}));
    for (let i = 0; i < 3; i++) {
      await expect(client.get()).resolves.toEqual({ status: 200, bytes: body.length });
    }
    client.close();
    expect(received.join('')).toBe(requestBytes(url, {}).toString('latin1').repeat(3));
  });

  it('should read a 304 without a body', async () => {
    onRequest = (socket) => socket.write('HTTP/1.1 304 Not Modified\r\netag: "abc"\r\n\r\n');
    const client = new NetClient(url, requestBytes(url, { 'if-none-match': '"abc"' }));
    await expect(client.get()).resolves.toEqual({ status: 304, bytes: 0 });
    await expect(client.get()).resolves.toEqual({ status: 304, bytes: 0 });
    client.close();
  });

  it('should fail an answer it cannot measure (chunked) rather than count it wrong', async () => {
    onRequest = (socket) =>
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n');
    const client = new NetClient(url, requestBytes(url, {}));
    await expect(client.get()).rejects.toThrow('without content-length');
    client.close();
  });

  it("should report the client's own CPU per request on each side", async () => {
    onRequest = answer(200, JSON.stringify({ data: [] }));
    const side = { url: url.toString(), pid: process.pid };
    const result = await interleaved([side, side], { connections: 2, rounds: 2, burstMs: 50 });
    expect(result.requests[0]).toBeGreaterThan(0);
    expect(result.clientCpuMs[0]).toBeGreaterThan(0);
    expect(result.clientCpuMs[1]).toBeGreaterThan(0);
  });
});
