import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { expectStreamEvent } from 'test/contract/upstream-schemas';
import { runEchoTool, sessionItems, uploadAgentSession } from 'test/utils/agent-sessions';
import { McpHttpServer, startMcpHttpServer } from 'test/utils/mcp-http-server';
import { useServerWithRunner } from 'test/utils/server-with-runner';
import { openSse } from 'test/utils/sse-client';

const FIXTURE_SERVER = join(__dirname, '../fixtures/mcp/fixture-mcp-server.js');
const TOKEN = `mcp-token-${randomBytes(8).toString('hex')}`;

/**
 * MCP tools on the reference runner (issue 19): a stdio server (the fixture script, started by
 * the runner in the session's workspace) and a streamable-HTTP server the test runs, whose
 * `Authorization` header the spec writes as `${MCP_TEST_TOKEN}`, resolved on the runner. Tools
 * are called through the echo agent's `/tool` directive.
 */
describe('MCP tools (real server and runner processes)', () => {
  let mcpHttp: McpHttpServer;

  beforeAll(async () => {
    mcpHttp = await startMcpHttpServer(TOKEN);
  });
  const stack = useServerWithRunner({ runnerEnv: { MCP_TEST_TOKEN: TOKEN, FIXTURE_VALUE: 'hi' } });
  afterAll(() => mcpHttp?.close());

  function config(name: string, extra: string[] = []): string {
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
      ...extra,
      '',
    ].join('\n');
  }

  async function uploadSession(extra: string[] = []): Promise<string> {
    const sessionId = await uploadAgentSession(
      stack.server.url,
      config(`mcp-${randomBytes(4).toString('hex')}`, extra),
    );
    await stack.api.bind(sessionId, stack.runner.runnerId);
    return sessionId;
  }

  const runTool = (sessionId: string, name: string, args: object) =>
    runEchoTool(stack.api, sessionId, name, args);

  it('should call a stdio MCP server started in the session workspace', async () => {
    const sessionId = await uploadSession();
    const stream = await openSse(stack.server.url, `/v1/sessions/${sessionId}/stream`);
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
    const last = (await sessionItems(stack.api, sessionId)).at(-1);
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

  it("should put MCP tool calls through tool.authorize (the spec's policy map)", async () => {
    const sessionId = await uploadSession([
      'policies:',
      '  one_call:',
      '    type: function',
      '    handler: omnigent.policies.builtins.safety.max_tool_calls_per_session',
      '    factory_params: {limit: 1}',
      '    on: [tool_call]',
    ]);

    expect(await runTool(sessionId, 'add', { a: 2, b: 2 })).toBe('stdio: 4');
    expect(await runTool(sessionId, 'add', { a: 2, b: 3 })).toMatch(
      /Denied by policy: one_call.*Exceeded 1 tool calls this session/,
    );
  });
});
