import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

import { createFixtureServer } from 'test/fixtures/mcp/fixture-mcp-server';

export interface McpHttpServer {
  url: string;
  /** Authorization headers seen, in order. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/**
 * The fixture MCP server over streamable HTTP (stateless: one server per request), on a free
 * port. Requests without `Authorization: Bearer <token>` get 401.
 */
export async function startMcpHttpServer(token: string): Promise<McpHttpServer> {
  const authorizations: (string | undefined)[] = [];
  const http: Server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    const server = createFixtureServer('http');
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    authorizations,
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
