import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

import { AgentMcpToolWire } from 'src/protocol/agent-spec';
import { ChildProcessTransport } from 'src/runner/mcp/child-process-transport';
import { ToolSandbox } from 'src/runner/sandbox/tool-sandbox';
import { ToolDefinition } from 'src/runner/tools/tool';

/** How long a server may take to start and answer `initialize` / `tools/list`. */
export const MCP_START_TIMEOUT_MS = 30_000;
/** How long one MCP tool call may take. */
export const MCP_CALL_TIMEOUT_MS = 10 * 60_000;
/** Cap on one tool result's text, like the built-in tools. */
const MAX_OUTPUT_CHARS = 100_000;
const CLIENT_INFO = { name: 'omnigent-runner', version: '1' };

/** One tool the model is offered from an MCP server (or a stub when the server failed). */
export interface McpOffer {
  definition: ToolDefinition;
  server: string;
  /** The tool's name on the server; undefined for the stub of a server that failed to start. */
  tool?: string;
  /** Why the server is unusable (the stub's call answers it). */
  error?: string;
}

export interface McpServersOptions {
  /** The session's sandbox for stdio servers, or why tools cannot run. */
  place(): { sandbox: ToolSandbox } | { error: string };
  /** The runner's environment: `${VAR}` in headers and env values is resolved from it. */
  env: Record<string, string | undefined>;
  log(message: string): void;
}

interface Connection {
  client: Client;
  offers: McpOffer[];
}

/** `${NAME}` → the runner's value (empty when unset). */
export function resolveVars(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => env[name] ?? '');
}

function resolveMap(
  map: Record<string, string> | undefined,
  env: Record<string, string | undefined>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(map ?? {}).map(([key, value]) => [key, resolveVars(String(value), env)]),
  );
}

function resultText(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = Array.isArray(result.content) ? result.content : [];
  const parts = content.map((block: { type: string; text?: string }) =>
    block.type === 'text' ? (block.text ?? '') : `[${block.type} content]`,
  );
  if (parts.length === 0 && result.structuredContent !== undefined) {
    parts.push(JSON.stringify(result.structuredContent));
  }
  let text = parts.join('\n');
  if (text.length > MAX_OUTPUT_CHARS) {
    text = `${text.slice(0, MAX_OUTPUT_CHARS)}\n[output truncated at ${MAX_OUTPUT_CHARS} characters]`;
  }
  return result.isError ? `Error: ${text}` : text;
}

/** A started (or starting) server, with the definition it was started from. */
interface Running {
  definition: string;
  connection: Promise<Connection>;
}

/**
 * The MCP servers of one session (`tools.<name>: {type: mcp}`): each started lazily, the first
 * time a turn needs the tool list, and kept until the session is released (close()) or its
 * agent no longer has it as it was: a turn whose spec drops a server, or defines it otherwise
 * (the session's agent switched), stops it first and starts the new definition. A stdio server
 * runs inside the session's sandbox; an HTTP server is reached by URL. A server that fails to
 * start is offered as one stub tool whose call explains the failure; the next turn tries again.
 */
export class McpServers {
  private readonly connections = new Map<string, Running>();
  private closed = false;

  constructor(private readonly options: McpServersOptions) {}

  /** The tools of the spec's MCP servers; names already in `taken` are prefixed `<server>__`. */
  async offers(servers: AgentMcpToolWire[], taken: Set<string>): Promise<Map<string, McpOffer>> {
    const result = new Map<string, McpOffer>();
    await this.retire(servers);
    const lists = await Promise.all(servers.map((server) => this.serverOffers(server)));
    for (const offer of lists.flat()) {
      let name = offer.definition.name;
      if (taken.has(name) || result.has(name)) {
        name = `${offer.server}__${name}`.slice(0, 64);
      }
      if (taken.has(name) || result.has(name)) {
        this.options.log(`MCP tool ${offer.server}/${offer.tool} hidden: its name is taken`);
        continue;
      }
      result.set(name, { ...offer, definition: { ...offer.definition, name } });
    }
    return result;
  }

  /** Calls one offered tool; problems come back as model-facing text. */
  async call(offer: McpOffer, args: Record<string, unknown>, signal: AbortSignal): Promise<string> {
    if (offer.error !== undefined || offer.tool === undefined) {
      return `Error: tool_unavailable: ${offer.error ?? `the MCP server '${offer.server}' is not available`}`;
    }
    const connection = await this.connections.get(offer.server)?.connection.catch(() => undefined);
    if (!connection) {
      return `Error: tool_unavailable: the MCP server '${offer.server}' is not running`;
    }
    try {
      const result = await connection.client.callTool(
        { name: offer.tool, arguments: args },
        undefined,
        { signal, timeout: MCP_CALL_TIMEOUT_MS },
      );
      return resultText(result);
    } catch (error) {
      if (signal.aborted) {
        throw error;
      }
      return `Error: the MCP tool ${offer.server}/${offer.tool} failed: ${(error as Error).message}`;
    }
  }

  /** Stops every server of the session. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop([...this.connections.keys()]);
  }

  /** Stops the servers the spec no longer has as they were started. */
  private async retire(servers: AgentMcpToolWire[]): Promise<void> {
    const wanted = new Map(servers.map((server) => [server.name, JSON.stringify(server)]));
    const stale = [...this.connections].flatMap(([name, running]) =>
      wanted.get(name) === running.definition ? [] : [name],
    );
    if (stale.length > 0) {
      this.options.log(`MCP server(s) ${stale.join(', ')} changed or gone: stopping them`);
      await this.stop(stale);
    }
  }

  private async stop(names: string[]): Promise<void> {
    const pending = names.flatMap((name) => {
      const running = this.connections.get(name);
      this.connections.delete(name);
      return running ? [running.connection] : [];
    });
    await Promise.all(
      pending.map((connection) =>
        connection.then(
          (c) => c.client.close(),
          () => undefined,
        ),
      ),
    );
  }

  private async serverOffers(server: AgentMcpToolWire): Promise<McpOffer[]> {
    let running = this.connections.get(server.name);
    if (!running) {
      running = { definition: JSON.stringify(server), connection: this.connect(server) };
      this.connections.set(server.name, running);
    }
    try {
      return (await running.connection).offers;
    } catch (error) {
      // Not cached: the next turn tries again.
      if (this.connections.get(server.name) === running) {
        this.connections.delete(server.name);
      }
      const message = `the MCP server '${server.name}' failed to start: ${(error as Error).message}`;
      this.options.log(message);
      return [
        {
          server: server.name,
          error: message,
          definition: {
            name: server.name,
            description: `MCP server ${server.name} (unavailable: it failed to start)`,
            parameters: { type: 'object', properties: {} },
          },
        },
      ];
    }
  }

  private async connect(server: AgentMcpToolWire): Promise<Connection> {
    if (this.closed) {
      throw new Error('the session was released');
    }
    const { transport, stdio } = this.transportFor(server);
    const client = new Client(CLIENT_INFO);
    try {
      await client.connect(transport, { timeout: MCP_START_TIMEOUT_MS });
      const { tools } = await client.listTools(undefined, { timeout: MCP_START_TIMEOUT_MS });
      const wanted = server.tools ? new Set(server.tools) : undefined;
      const offers = tools
        .filter((tool) => !wanted || wanted.has(tool.name))
        .map((tool) => ({
          server: server.name,
          tool: tool.name,
          definition: {
            name: tool.name,
            description: tool.description ?? '',
            parameters: tool.inputSchema as Record<string, unknown>,
          },
        }));
      if (this.closed) {
        await client.close();
        throw new Error('the session was released');
      }
      return { client, offers };
    } catch (error) {
      await client.close().catch(() => undefined);
      const detail = stdio?.stderrTail ? ` (stderr: ${stdio.stderrTail.slice(-500)})` : '';
      throw new Error(`${(error as Error).message}${detail}`, { cause: error });
    }
  }

  private transportFor(server: AgentMcpToolWire): {
    transport: Transport;
    stdio?: ChildProcessTransport;
  } {
    const { env } = this.options;
    if (server.transport === 'http' && server.url) {
      const transport = new StreamableHTTPClientTransport(new URL(resolveVars(server.url, env)), {
        requestInit: { headers: resolveMap(server.headers, env) },
      });
      return { transport };
    }
    const place = this.options.place();
    if ('error' in place) {
      throw new Error(place.error);
    }
    // `env` entries reach the server through env(1): the sandbox starts from a minimal
    // environment of its own.
    const vars = Object.entries(resolveMap(server.env, env)).map(([k, v]) => `${k}=${v}`);
    const argv = [
      ...(vars.length > 0 ? ['env', ...vars] : []),
      server.command as string,
      ...(server.args ?? []).map((arg) => resolveVars(arg, env)),
    ];
    const child = place.sandbox.spawn(argv, { detached: true, stdin: 'pipe' });
    const stdio = new ChildProcessTransport(child);
    return { transport: stdio, stdio };
  }
}
