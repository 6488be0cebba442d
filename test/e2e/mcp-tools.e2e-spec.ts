import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { expectStreamEvent } from 'test/contract/upstream-schemas';
import { bundleOf } from 'test/utils/agent-bundle';
import { eventually, HttpApi, httpApi } from 'test/utils/http-api';
import { McpHttpServer, startMcpHttpServer } from 'test/utils/mcp-http-server';
import { RunnerProcess, ServerProcess, startRunner, startServer } from 'test/utils/processes';
import { openSse } from 'test/utils/sse-client';

interface Item {
  type: string;
  name?: string;
  output?: string;
  content?: { text: string }[];
}

const FIXTURE_SERVER = join(__dirname, '../fixtures/mcp/fixture-mcp-server.js');
const TOKEN = `mcp-token-${randomBytes(8).toString('hex')}`;

/**
 * MCP tools on the reference runner (issue 19): a stdio server (the fixture script, started by
 * the runner in the session's workspace) and a streamable-HTTP server the test runs, whose
 * `Authorization` header the spec writes as `${MCP_TEST_TOKEN}`, resolved on the runner. Tools
 * are called through the echo agent's `/tool` directive.
 */
describe('MCP tools (real server and runner processes)', () => {
  let server: ServerProcess;
  let runner: RunnerProcess;
  let api: HttpApi;
  let mcpHttp: McpHttpServer;

  beforeAll(async () => {
    mcpHttp = await startMcpHttpServer(TOKEN);
    server = await startServer({
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
    });
    runner = await startRunner(server.url, [], { MCP_TEST_TOKEN: TOKEN, FIXTURE_VALUE: 'hi' });
    api = httpApi(server.url);
  }, 60_000);

  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
    await mcpHttp?.close();
  });

  function config(name: string): string {
    return [
      `name: ${name}`,
      'executor: {harness: echo}',
      // The fixture script and its SDK live in this repository, outside any sandbox's view.
      'os_env: {type: caller_process, sandbox: {type: none}}',
      'tools:',
      '  fixture:',
      '    type: mcp',
      `    command: ${process.execPath}`,
      `    args: [${JSON.stringify(FIXTURE_SERVER)}]`,
      '    env: {FIXTURE_GREETING: "${FIXTURE_VALUE}-there"}',
      '    tools: [add, where, fail]',
      '  remote:',
      '    type: mcp',
      `    url: ${mcpHttp.url}`,
      '    headers: {Authorization: "Bearer ${MCP_TEST_TOKEN}"}',
      '    tools: [add]',
      '  broken:',
      '    type: mcp',
      '    command: /nonexistent/mcp-server',
      '',
    ].join('\n');
  }

  async function uploadSession(): Promise<string> {
    const name = `mcp-${randomBytes(4).toString('hex')}`;
    const form = new FormData();
    const bundle = await bundleOf([{ name: 'config.yaml', content: config(name) }]);
    form.set('metadata', JSON.stringify({ title: 'mcp' }));
    form.set('bundle', new Blob([bundle], { type: 'application/gzip' }), 'agent.tar.gz');
    const created = await fetch(`${server.url}/v1/sessions`, {
      method: 'POST',
      body: form,
      headers: { Origin: 'omnigent://internal' },
    });
    expect(created.status).toBe(201);
    const { session_id: sessionId } = (await created.json()) as { session_id: string };
    await api.bind(sessionId, runner.runnerId);
    return sessionId;
  }

  async function items(sessionId: string): Promise<Item[]> {
    return (await api.ok<{ data: Item[] }>('GET', `/v1/sessions/${sessionId}/items?limit=1000`))
      .data;
  }

  /** Runs `/tool name args` and returns the tool's output once the session is idle again. */
  async function runTool(sessionId: string, name: string, args: object): Promise<string> {
    const before = (await items(sessionId)).length;
    const posted = await api.say(sessionId, `/tool ${name} ${JSON.stringify(args)}`);
    expect(posted.status).toBe(202);
    return eventually(async () => {
      const output = (await items(sessionId))
        .slice(before)
        .find((i) => i.type === 'function_call_output');
      const session = await api.ok<{ status: string }>('GET', `/v1/sessions/${sessionId}`);
      if (!output || session.status !== 'idle') {
        throw new Error(`no tool output yet (status ${session.status})`);
      }
      return output.output as string;
    }, 30_000);
  }

  it('should call a stdio MCP server started in the session workspace', async () => {
    const sessionId = await uploadSession();
    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');

    expect(await runTool(sessionId, 'add', { a: 2, b: 40 })).toBe('stdio: 42');
    stream.close();
    for (const frame of stream.frames) {
      if (frame.json) {
        expectStreamEvent(frame.json);
      }
    }
    const where = await runTool(sessionId, 'where', {});
    expect(where).toMatch(new RegExp(`cwd=\\S*${sessionId} greeting=hi-there$`));
    expect(await runTool(sessionId, 'fail', {})).toBe('Error: the fixture failed on purpose');
    const last = (await items(sessionId)).at(-1);
    expect(last?.content?.[0].text).toContain('Error: the fixture failed on purpose');
  });

  it('should call a streamable-HTTP server with the header resolved on the runner', async () => {
    const sessionId = await uploadSession();

    // `add` is on both servers: the second one offered is prefixed with its server name.
    expect(await runTool(sessionId, 'remote__add', { a: 1, b: 2 })).toBe('http: 3');
    expect(mcpHttp.authorizations).toContain(`Bearer ${TOKEN}`);
    expect(mcpHttp.authorizations).not.toContain('Bearer ${MCP_TEST_TOKEN}');
  });

  it('should offer only the listed tools and explain a server that failed to start', async () => {
    const sessionId = await uploadSession();

    expect(await runTool(sessionId, 'hidden', {})).toMatch(/not available to this agent/);
    expect(await runTool(sessionId, 'broken', {})).toMatch(
      /^Error: tool_unavailable: the MCP server 'broken' failed to start/,
    );
    // The runner is still fine: the next call works.
    expect(await runTool(sessionId, 'add', { a: 1, b: 1 })).toBe('stdio: 2');
  });
});
