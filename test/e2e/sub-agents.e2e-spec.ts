import { randomBytes } from 'node:crypto';

import { expectStreamEvent } from 'test/contract/upstream-schemas';
import { runEchoTool, sessionItems, uploadAgentSession } from 'test/utils/agent-sessions';
import { HttpApi, httpApi } from 'test/utils/http-api';
import { RunnerProcess, ServerProcess, startRunner, startServer } from 'test/utils/processes';
import { openSse } from 'test/utils/sse-client';

const CONFIG = (name: string) =>
  [
    `name: ${name}`,
    'executor: {harness: echo}',
    'tools:',
    '  helper:',
    '    type: agent',
    '    description: Repeats the task back.',
    '    prompt: Echo the task.',
    '    executor: {harness: echo}',
    '    max_sessions: 2',
    '  lister:',
    '    type: agent',
    '    prompt: List the workspace.',
    '    os_env: {type: caller_process, sandbox: {type: none}}',
    '  remote_only:',
    '    type: agent',
    '    executor: {harness: claude-sdk}',
    '  weather:',
    '    type: function',
    '    description: Current weather.',
    '    callable: tools.weather:get_weather',
    '',
  ].join('\n');

/**
 * Sub-agent tools (`type: agent`, issue 19): the echo agent's `/tool` directive calls a sub-agent
 * whose child turn runs on the same runner (echo harness) and whose answer is the tool output.
 */
describe('sub-agent tools (real server and runner processes)', () => {
  let server: ServerProcess;
  let runner: RunnerProcess;
  let api: HttpApi;

  beforeAll(async () => {
    server = await startServer({
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
    });
    runner = await startRunner(server.url, []);
    api = httpApi(server.url);
  }, 60_000);

  afterAll(async () => {
    await runner?.stop();
    await server?.stop();
  });

  async function session(): Promise<string> {
    const name = `parent-${randomBytes(4).toString('hex')}`;
    const sessionId = await uploadAgentSession(server.url, CONFIG(name));
    await api.bind(sessionId, runner.runnerId);
    return sessionId;
  }

  it('should run the sub-agent and return its answer, streaming its progress', async () => {
    const sessionId = await session();
    const stream = await openSse(server.url, `/v1/sessions/${sessionId}/stream`);
    await stream.waitFor((f) => f.event === 'session.heartbeat');

    const output = await runEchoTool(api, sessionId, 'helper', { input: 'summarise the plan' });
    expect(output).toBe('summarise the plan');
    const deltas = stream.frames.filter((f) => f.event === 'response.function_call_output.delta');
    stream.close();
    expect(deltas.map((f) => f.json?.delta).join('')).toBe('summarise the plan');
    for (const frame of stream.frames) {
      if (frame.json) {
        expectStreamEvent(frame.json);
      }
    }
    const items = await sessionItems(api, sessionId);
    expect(items.map((i) => i.type)).toEqual([
      'message',
      'function_call',
      'function_call_output',
      'message',
    ]);
    expect(items[3].content?.[0].text).toBe('Tool helper returned: summarise the plan');
  });

  it('should honour max_sessions per parent session', async () => {
    const sessionId = await session();

    expect(await runEchoTool(api, sessionId, 'helper', { input: 'one' })).toBe('one');
    expect(await runEchoTool(api, sessionId, 'helper', { input: 'two' })).toBe('two');
    expect(await runEchoTool(api, sessionId, 'helper', { input: 'three' })).toBe(
      'Error: the sub-agent helper may run at most 2 time(s) per session',
    );
  });

  it("should let a sub-agent use its own os_env tools in the parent's workspace", async () => {
    const sessionId = await session();

    // The child's echo harness runs the directive it is given as its task.
    const output = await runEchoTool(api, sessionId, 'lister', {
      input: '/tool write_file {"path": "from-child.txt", "content": "hi"}',
    });
    expect(output).toMatch(/^Tool write_file returned: /);
    const listed = await runEchoTool(api, sessionId, 'lister', { input: '/tool list_dir {}' });
    expect(listed).toContain('from-child.txt');
  });

  it('should answer a clear error for a sub-agent on a harness this runner lacks', async () => {
    const sessionId = await session();

    expect(await runEchoTool(api, sessionId, 'remote_only', { input: 'x' })).toMatch(
      /^Error: the sub-agent remote_only failed: harness_not_configured: .*claude-sdk/,
    );
  });

  it('should answer tool_unavailable for a Python callable, naming it', async () => {
    const sessionId = await session();

    expect(await runEchoTool(api, sessionId, 'weather', { city: 'Oslo' })).toBe(
      "Error: tool_unavailable: the tool 'weather' cannot run here: the Python callable " +
        "tools.weather:get_weather cannot run on this server's runners",
    );
  });
});
