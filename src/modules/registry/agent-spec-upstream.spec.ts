import { readFileSync } from 'node:fs';
import path from 'node:path';

import { agentSpecToJson, parseAgentSpec } from 'src/modules/registry/agent-spec';
import { BUILTIN_TOOL_NAMES } from 'src/protocol/agent-spec';
import { expectSpecError } from 'test/utils/agent-spec-errors';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/agents');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

describe('upstream agent specs (test/fixtures/agents)', () => {
  it('should load a spec without executor on the echo harness', () => {
    const spec = parseAgentSpec(fixture('upstream-minimal.yaml'));

    expect(spec).toMatchObject({ name: 'hello', instructions: 'Say hello.' });
    expect(spec.executor).toEqual({ harness: 'echo' });
  });

  it('should resolve harness aliases and keep every auth key', () => {
    const spec = parseAgentSpec(fixture('upstream-executors.yaml'));

    expect(spec.executor).toEqual({
      harness: 'antigravity',
      model: 'gemini-2.5-pro',
      auth: { type: 'provider', name: 'vertex', region: 'us-central1' },
    });
    expect(spec).toMatchObject({ async: false, cancellable: true, timers: true });
    expect(spec.raw.executor).toMatchObject({ harness: 'agy', profile: 'work' });
  });

  it('should take the harness from executor.type and keep databricks auth', () => {
    expect(parseAgentSpec(fixture('upstream-databricks.yaml')).executor).toEqual({
      harness: 'claude-sdk',
      model: 'databricks-claude-sonnet',
      auth: { type: 'databricks', profile: 'DEFAULT' },
    });
  });

  it('should parse every tool form of the map syntax', () => {
    const spec = parseAgentSpec(fixture('upstream-tools.yaml'));

    expect(spec.osEnv).toEqual({
      type: 'caller_process',
      cwd: '/srv/project',
      sandbox: { type: 'linux_bwrap', allow_network: false },
    });
    const declared = spec.tools.filter((tool) => tool.runtime !== 'server');
    expect(spec.tools.filter((tool) => tool.runtime === 'server').map((t) => t.name)).toEqual(
      BUILTIN_TOOL_NAMES,
    );
    expect(declared).toEqual([
      {
        name: 'files',
        runtime: 'mcp',
        transport: 'stdio',
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-filesystem', '.'],
        tools: ['read_text_file', 'list_directory'],
      },
      {
        name: 'search',
        runtime: 'mcp',
        transport: 'http',
        url: 'https://mcp.example.com/mcp',
        headers: { Authorization: 'Bearer ${SEARCH_TOKEN}' },
      },
      {
        name: 'weather',
        runtime: 'unavailable',
        kind: 'callable',
        reason: expect.stringContaining('tools.weather:get_weather'),
        description: 'Current weather for a city.',
        parameters: {
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
        },
      },
      {
        name: 'pick_color',
        runtime: 'client',
        description: 'Ask the user to pick a color.',
        parameters: { type: 'object', properties: { hint: { type: 'string' } } },
      },
      {
        name: 'researcher',
        runtime: 'agent',
        description: 'Researches a question and answers briefly.',
        instructions: 'You research questions.',
        executor: { harness: 'echo' },
        os_env: 'inherit',
        pass_history: true,
        max_sessions: 2,
      },
      { name: 'parent_tools', runtime: 'unavailable', kind: 'inherit', reason: expect.any(String) },
      {
        name: 'recurse',
        runtime: 'agent',
        description: expect.any(String),
        instructions: null,
        executor: { harness: 'echo' },
        os_env: 'inherit',
        pass_history: false,
        max_sessions: null,
      },
      {
        name: 'sandboxed',
        runtime: 'unavailable',
        kind: 'container',
        reason: expect.stringContaining('python:3.12-slim'),
      },
    ]);
    expect(spec.raw.unknown_top_level_key).toEqual({ kept: true });
  });

  it('should give a sub-agent without executor its parent executor', () => {
    const spec = parseAgentSpec(
      'name: a\nexecutor: {harness: openai, model: m}\ntools: {helper: {type: agent, prompt: p}}',
    );

    expect(spec.tools).toEqual([
      {
        name: 'helper',
        runtime: 'agent',
        instructions: 'p',
        executor: { harness: 'openai', model: 'm' },
        os_env: null,
        pass_history: false,
        max_sessions: null,
      },
    ]);
  });

  it("should run self (and spec: self) as a sub-agent of the agent's own spec", () => {
    const spec = parseAgentSpec(
      'name: a\nprompt: Be a.\nexecutor: {harness: echo}\n' +
        'tools: {again: self, twin: {type: agent, spec: self, max_sessions: 3}}',
    );

    expect(spec.tools).toEqual([
      expect.objectContaining({ name: 'again', runtime: 'agent', instructions: 'Be a.' }),
      expect.objectContaining({
        name: 'twin',
        runtime: 'agent',
        instructions: 'Be a.',
        executor: { harness: 'echo' },
        os_env: 'inherit',
        max_sessions: 3,
      }),
    ]);
  });

  it('should read a sub-agent instructions file from the bundle', () => {
    const spec = parseAgentSpec('name: a\ntools: {helper: {type: agent, instructions: sub.md}}', {
      readBundleFile: (rel) => (rel === 'sub.md' ? 'sub text' : undefined),
    });

    expect(spec.tools[0]).toMatchObject({ runtime: 'agent', instructions: 'sub text' });
  });

  it("should parse upstream's policy map with on, function and factory_params", () => {
    expect(parseAgentSpec(fixture('upstream-policies.yaml')).policies).toEqual([
      {
        name: 'ask_os',
        handler: 'omnigent.policies.builtins.safety.ask_on_os_tools',
        on: ['tool_call'],
      },
      {
        name: 'cap',
        handler: 'omnigent.policies.builtins.safety.max_tool_calls_per_session',
        factory_params: { limit: 5 },
        on: ['tool_call:shell', 'tool_result'],
      },
      {
        name: 'cap_factory',
        handler: 'omnigent.policies.builtins.safety.max_tool_calls_per_session',
        factory_params: { limit: 9 },
      },
    ]);
  });

  it('should keep the upstream terminal keys', () => {
    const spec = parseAgentSpec(fixture('upstream-terminals.yaml'));

    expect(spec.terminals).toEqual({
      shell: {
        command: 'bash',
        args: ['-l'],
        os_env: 'inherit',
        allow_cwd_override: true,
        allow_sandbox_override: false,
        scrollback: 5000,
      },
      python: { command: 'python3', sandbox: { type: 'none' } },
    });
  });

  it('should read instructions from the bundle and name a missing file', () => {
    const text = fixture('upstream-instructions.yaml');

    expect(
      parseAgentSpec(text, {
        readBundleFile: (rel) => (rel === 'prompts/system.md' ? 'S' : undefined),
      }).instructions,
    ).toBe('S');
    expect(() => parseAgentSpec(text, { readBundleFile: () => undefined })).toThrow(
      'instructions: the file prompts/system.md is not in the bundle',
    );
  });

  it('should pass the new keys on to runners', () => {
    const json = agentSpecToJson(parseAgentSpec(fixture('upstream-tools.yaml')));

    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.tools.map((tool) => tool.runtime)).toContain('mcp');
  });

  describe('refusals name the field', () => {
    it.each([
      ['tools: {x: {type: rpc}}', 'tools.x.type must be one of mcp, function, agent'],
      ['tools: {x: {type: mcp}}', 'tools.x.command is required'],
      ['tools: {x: {type: mcp, url: ftp://h}}', 'tools.x.url must be an http(s) URL'],
      ['tools: {x: {type: mcp, command: c, args: -y}}', 'tools.x.args must be'],
      [
        'tools: {x: {type: mcp, url: "http://h", headers: [a]}}',
        'tools.x.headers must be a mapping',
      ],
      ['tools: {x: {type: function}}', 'tools.x.callable is required unless runtime is client'],
      ['tools: {x: {type: function, runtime: client, parameters: 1}}', 'tools.x.parameters'],
      ['tools: {x: {type: agent, pass_history: "yes"}}', 'tools.x.pass_history must be a boolean'],
      [
        'tools: {x: {type: agent, max_sessions: 0}}',
        'tools.x.max_sessions must not be less than 1',
      ],
      [
        'tools: {x: {type: agent, executor: {harness: 1}}}',
        'tools.x.executor.harness must be a string',
      ],
      ['tools: {x: {type: agent, os_env: local}}', 'tools.x.os_env must be inherit or a mapping'],
      ['tools: {x: 3}', 'tools.x must be a mapping, inherit or self'],
      ['tools: {"bad name": inherit}', 'tools.bad name must be named'],
      ['policies: {p: {type: function}}', 'policies.p.handler is required'],
      [
        'policies: {p: {function: {path: "x y"}}}',
        'policies.p.function.path must be a dotted handler id',
      ],
      ['policies: {p: {handler: a.b, on: tool_call}}', 'policies.p.on must be'],
      ['terminals: {t: {scrollback: -1}}', 'terminals.t.scrollback must not be less than 0'],
      [
        'terminals: {t: {allow_cwd_override: 1}}',
        'terminals.t.allow_cwd_override must be a boolean',
      ],
      ['terminals: {t: {os_env: 1}}', 'terminals.t.os_env must be inherit or a mapping'],
      ['async: "no"', 'async must be a boolean'],
      ['timers: 1', 'timers must be a boolean'],
      ['executor: {auth: {type: provider, name: 3}}', 'executor.auth.name must be a string'],
    ])('%s', (yaml, message) => {
      expectSpecError(`name: a\n${yaml}`, message);
    });
  });
});
