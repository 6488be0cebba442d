import { copyFileSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AgentMcpToolWire } from 'src/protocol/agent-spec';
import { McpServers, resolveVars } from 'src/runner/mcp/mcp-servers';
import { UnsandboxedTools } from 'src/runner/sandbox/tool-sandbox';
import { bwrapFor } from 'test/utils/tool-sandboxes';

const FIXTURES = join(__dirname, '../../../test/fixtures/mcp');
const FIXTURE = join(FIXTURES, 'fixture-mcp-server.js');

const stdio = (name: string, extra: Partial<AgentMcpToolWire> = {}): AgentMcpToolWire => ({
  name,
  runtime: 'mcp',
  transport: 'stdio',
  command: process.execPath,
  args: [FIXTURE],
  ...extra,
});

describe(resolveVars.name, () => {
  it('should replace ${NAME} from the environment, unset as empty, and nothing else', () => {
    expect(resolveVars('Bearer ${TOKEN}/${MISSING}/$TOKEN/${1X}', { TOKEN: 't' })).toBe(
      'Bearer t//$TOKEN/${1X}',
    );
  });
});

describe(McpServers.name, () => {
  let workspace: string;
  let servers: McpServers;
  const log = jest.fn();
  const signal = new AbortController().signal;

  beforeEach(() => {
    workspace = mkdtempSync(join(tmpdir(), 'mcp-servers-'));
    servers = new McpServers({
      place: () => ({ sandbox: new UnsandboxedTools(workspace, process.env) }),
      env: { GREETING: 'hello' },
      log,
    });
  });

  afterEach(async () => {
    await servers.close();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('should offer the listed tools, prefixing a taken name with the server', async () => {
    const offers = await servers.offers(
      [stdio('one', { tools: ['add', 'where'], env: { FIXTURE_GREETING: '${GREETING}' } })],
      new Set(['where']),
    );

    expect([...offers.keys()]).toEqual(['add', 'one__where']);
    expect(offers.get('add')?.definition.parameters).toMatchObject({ required: ['a', 'b'] });
    const where = await servers.call(offers.get('one__where')!, {}, signal);
    expect(where).toBe(`cwd=${workspace} greeting=hello`);
    expect(await servers.call(offers.get('add')!, { a: 1, b: 2 }, signal)).toBe('stdio: 3');
  });

  it('should start each server once per session', async () => {
    const first = await servers.offers([stdio('one', { tools: ['where'] })], new Set());
    const again = await servers.offers([stdio('one', { tools: ['where'] })], new Set());

    expect([...again.keys()]).toEqual(['where']);
    const a = await servers.call(first.get('where')!, {}, signal);
    const b = await servers.call(again.get('where')!, {}, signal);
    expect(a).toBe(b);
  });

  it('should answer an error result as Error text', async () => {
    const offers = await servers.offers([stdio('one', { tools: ['fail'] })], new Set());

    expect(await servers.call(offers.get('fail')!, {}, signal)).toBe(
      'Error: the fixture failed on purpose',
    );
  });

  it('should offer a stub that explains a server that failed to start', async () => {
    const offers = await servers.offers(
      [stdio('broken', { command: process.execPath, args: ['-e', 'process.exit(3)'] })],
      new Set(),
    );

    const stub = offers.get('broken');
    expect(stub?.error).toMatch(/the MCP server 'broken' failed to start/);
    expect(await servers.call(stub!, {}, signal)).toMatch(/^Error: tool_unavailable: /);
    expect(log).toHaveBeenCalledWith(expect.stringContaining("'broken' failed to start"));
  });

  it('should restart a server whose definition changed (the agent switched), and stop a dropped one', async () => {
    const greeted = (greeting: string) =>
      stdio('one', { tools: ['where'], env: { FIXTURE_GREETING: greeting } });
    const before = await servers.offers([greeted('first'), stdio('two')], new Set());
    expect(await servers.call(before.get('where')!, {}, signal)).toBe(
      `cwd=${workspace} greeting=first`,
    );

    const after = await servers.offers([greeted('second')], new Set());
    expect(await servers.call(after.get('where')!, {}, signal)).toBe(
      `cwd=${workspace} greeting=second`,
    );
    expect(log).toHaveBeenCalledWith('MCP server(s) one, two changed or gone: stopping them');
    // The dropped server is stopped: its tools from the earlier turn no longer run.
    expect(await servers.call(before.get('add')!, { a: 1, b: 2 }, signal)).toBe(
      "Error: tool_unavailable: the MCP server 'two' is not running",
    );
  });

  it('should refuse to start after close and say why', async () => {
    await servers.close();
    const offers = await servers.offers([stdio('late')], new Set());

    expect(offers.get('late')?.error).toMatch(/the session was released/);
  });
});

describe('McpServers in the bubblewrap sandbox', () => {
  let workspace: string;
  let servers: McpServers;

  beforeEach(() => {
    workspace = realpathSync(mkdtempSync(join(tmpdir(), 'mcp-bwrap-')));
    copyFileSync(join(FIXTURES, 'raw-mcp-server.js'), join(workspace, 'server.js'));
    servers = new McpServers({
      place: () => ({ sandbox: bwrapFor(workspace) }),
      env: {},
      log: jest.fn(),
    });
  });

  afterEach(async () => {
    await servers.close();
    rmSync(workspace, { recursive: true, force: true });
  });

  it('should run a stdio server in the workspace, unable to see the rest of the host', async () => {
    const offers = await servers.offers([stdio('raw', { args: ['server.js'] })], new Set());
    const probe = offers.get('probe');
    expect(probe?.error).toBeUndefined();
    const signal = new AbortController().signal;

    expect(await servers.call(probe!, { path: 'server.js' }, signal)).toBe(
      `cwd=${workspace} exists=true`,
    );
    // This repository (and its node_modules) is outside the sandbox's view.
    expect(await servers.call(probe!, { path: FIXTURES }, signal)).toBe(
      `cwd=${workspace} exists=false`,
    );
  });
});
