import {
  agentSpecToJson,
  BUILTIN_TOOL_NAMES,
  parseAgentSpec,
} from 'src/modules/registry/agent-spec';
import { expectSpecError } from 'test/utils/agent-spec-errors';

const CODER = `
name: coder
description: Edits files in the workspace and runs commands, asking before shell commands.
instructions: |
  You are a careful software engineer. Explain what you change.
executor:
  harness: openai
  model: gpt-4.1-mini
  auth: {type: api_key, api_key: "\${OPENAI_API_KEY}", base_url: "\${OPENAI_BASE_URL}"}
os_env: {type: caller_process}
tools: [list_dir, read_file, write_file, edit_file, shell]
policies:
  - name: ask_before_os_tools
    handler: omnigent.policies.builtins.safety.ask_on_os_tools
  - name: tool_call_cap
    handler: omnigent.policies.builtins.safety.max_tool_calls_per_session
    factory_params: {limit: 50}
terminals:
  shell: {command: bash}
`;

describe(parseAgentSpec.name, () => {
  describe('full spec', () => {
    it('should parse the agent-spec.md example', () => {
      const spec = parseAgentSpec(CODER);

      expect(spec).toMatchObject({
        name: 'coder',
        description:
          'Edits files in the workspace and runs commands, asking before shell commands.',
        instructions: 'You are a careful software engineer. Explain what you change.\n',
        executor: {
          harness: 'openai',
          model: 'gpt-4.1-mini',
          auth: {
            type: 'api_key',
            api_key: '${OPENAI_API_KEY}',
            base_url: '${OPENAI_BASE_URL}',
          },
        },
        osEnv: { type: 'caller_process' },
        policies: [
          {
            name: 'ask_before_os_tools',
            handler: 'omnigent.policies.builtins.safety.ask_on_os_tools',
          },
          {
            name: 'tool_call_cap',
            handler: 'omnigent.policies.builtins.safety.max_tool_calls_per_session',
            factory_params: { limit: 50 },
          },
        ],
        terminals: { shell: { command: 'bash' } },
        params: {},
        maxIterations: 20,
      });
      expect(spec.tools.map((tool) => tool.name)).toEqual(BUILTIN_TOOL_NAMES);
      expect(spec.policies[0]).not.toHaveProperty('factory_params');
    });

    it('should keep unknown top-level keys in raw and ignore them', () => {
      const spec = parseAgentSpec('name: a\nskills: [x]\nmcp_servers: {s: {url: http://x}}\n');

      expect(spec.raw).toEqual({
        name: 'a',
        skills: ['x'],
        mcp_servers: { s: { url: 'http://x' } },
      });
      expect(spec.tools).toEqual([]);
    });

    it('should apply defaults to a minimal spec', () => {
      expect(parseAgentSpec('name: minimal')).toEqual({
        name: 'minimal',
        description: null,
        instructions: null,
        executor: { harness: 'echo' },
        osEnv: null,
        tools: [],
        policies: [],
        terminals: {},
        params: {},
        maxIterations: 20,
        async: true,
        cancellable: true,
        timers: false,
        raw: { name: 'minimal' },
      });
    });
  });

  describe('yaml', () => {
    it('should reject multi-document input', () => {
      expectSpecError('name: a\n---\nname: b\n', 'single YAML document');
    });

    it('should reject a non-mapping top level', () => {
      expectSpecError('- name: a\n', 'must be a YAML mapping');
      expectSpecError('just text', 'must be a YAML mapping');
      expectSpecError('', 'empty');
    });

    it('should reject invalid YAML and duplicate keys', () => {
      expectSpecError('name: [a', 'not valid YAML');
      expectSpecError('name: a\nname: b\n', 'not valid YAML');
    });

    it('should reject input over 256 KiB', () => {
      const text = `name: big\ndescription: "${'x'.repeat(256 * 1024)}"\n`;

      expectSpecError(text, '256 KiB');
    });

    it('should refuse alias expansion bombs', () => {
      const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
      for (let level = 1; level < 8; level += 1) {
        const prev = String.fromCharCode(96 + level);
        const next = String.fromCharCode(97 + level);
        lines.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(', ')}]`);
      }

      expectSpecError(`name: bomb\n${lines.join('\n')}\n`, 'not valid YAML');
    });
  });

  describe('name', () => {
    it('should require a name', () => {
      expectSpecError('description: x', 'name is required');
    });

    it('should reject non-string and malformed names', () => {
      expectSpecError('name: 12', 'name must be a string');
      for (const bad of ['-lead', 'has space', 'slash/name', 'a'.repeat(129), '']) {
        expectSpecError(`name: ${JSON.stringify(bad)}`, 'name must be 1-128');
      }
    });

    it('should accept letters, digits, dash, underscore and dot', () => {
      expect(parseAgentSpec('name: My_agent-1.2').name).toBe('My_agent-1.2');
      expect(parseAgentSpec(`name: ${'a'.repeat(128)}`).name).toHaveLength(128);
    });
  });

  describe('instructions', () => {
    it('should prefer instructions over prompt', () => {
      expect(parseAgentSpec('name: a\nprompt: p\ninstructions: i').instructions).toBe('i');
      expect(parseAgentSpec('name: a\nprompt: p').instructions).toBe('p');
    });

    it('should read instructions from a bundle file, and name a missing one', () => {
      const readBundleFile = jest.fn((relPath: string) =>
        relPath === 'prompts/system.md' ? 'from file' : undefined,
      );

      expect(
        parseAgentSpec('name: a\ninstructions: prompts/system.md', { readBundleFile }).instructions,
      ).toBe('from file');
      expect(() => parseAgentSpec('name: a\ninstructions: missing.md', { readBundleFile })).toThrow(
        'instructions: the file missing.md is not in the bundle',
      );
      expect(
        parseAgentSpec('name: a\ninstructions: Be brief.', { readBundleFile }).instructions,
      ).toBe('Be brief.');
    });

    it('should never look up absolute, parent or multi-line paths', () => {
      const readBundleFile = jest.fn(() => 'leaked');

      for (const value of ['/etc/passwd', '../secret.md', 'a/../../b', 'line one\nline two']) {
        const spec = parseAgentSpec(`name: a\ninstructions: ${JSON.stringify(value)}`, {
          readBundleFile,
        });
        expect(spec.instructions).toBe(value);
      }
      expect(readBundleFile).not.toHaveBeenCalled();
    });

    it('should reject non-string instructions and prompt', () => {
      expectSpecError('name: a\ninstructions: [x]', 'instructions must be a string');
      expectSpecError('name: a\nprompt: {x: 1}', 'prompt must be a string');
      expectSpecError('name: a\ndescription: 3', 'description must be a string');
    });
  });

  describe('executor', () => {
    it('should keep ${NAME} references verbatim', () => {
      const spec = parseAgentSpec(
        'name: a\nexecutor: {harness: openai, auth: {api_key: "${KEY}", base_url: "${URL}"}}',
      );

      expect(spec.executor).toEqual({
        harness: 'openai',
        auth: { api_key: '${KEY}', base_url: '${URL}' },
      });
    });

    it('should accept upstream harness names', () => {
      expect(parseAgentSpec('name: a\nexecutor: {harness: claude_sdk}').executor.harness).toBe(
        'claude_sdk',
      );
    });

    it('should default a missing harness like upstream: the executor type, else openai', () => {
      const harness = (yaml: string) => parseAgentSpec(`name: a\n${yaml}`).executor.harness;

      expect(harness('executor: {model: gpt-4.1-mini}')).toBe('openai');
      expect(harness('executor: {harness: "", model: gpt-4.1-mini}')).toBe('openai');
      expect(harness('executor: {}')).toBe('openai');
      expect(harness('executor: {type: claude-sdk, model: x}')).toBe('claude-sdk');
      expect(harness('executor: {harness: echo, type: claude-sdk}')).toBe('echo');
      expect(harness('description: no executor at all')).toBe('echo');
      expect(parseAgentSpec('name: a\nexecutor: {model: m}').executor).toEqual({
        harness: 'openai',
        model: 'm',
      });
    });

    it('should name the field with the wrong type', () => {
      expectSpecError('name: a\nexecutor: openai', 'executor must be a mapping');
      expectSpecError('name: a\nexecutor: {type: 2}', 'executor.type must be a string');
      expectSpecError('name: a\nexecutor: {harness: 1}', 'executor.harness must be a string');
      expectSpecError(
        'name: a\nexecutor: {harness: openai, model: 4}',
        'executor.model must be a string',
      );
      expectSpecError(
        'name: a\nexecutor: {harness: openai, auth: key}',
        'executor.auth must be a mapping',
      );
      expectSpecError(
        'name: a\nexecutor: {harness: openai, auth: {api_key: [1]}}',
        'executor.auth.api_key must be a string',
      );
    });
  });

  describe('policies', () => {
    it("should accept upstream's mapping form", () => {
      const spec = parseAgentSpec(`
name: a
policies:
  ask:
    type: function
    handler: omnigent.policies.builtins.safety.ask_on_os_tools
  cap:
    type: function
    handler: {path: omnigent.policies.builtins.safety.max_tool_calls_per_session, arguments: {limit: 3}}
  empty_factory:
    function: omnigent.policies.builtins.safety.ask_on_os_tools
    factory_params: {}
`);

      expect(spec.policies).toEqual([
        { name: 'ask', handler: 'omnigent.policies.builtins.safety.ask_on_os_tools' },
        {
          name: 'cap',
          handler: 'omnigent.policies.builtins.safety.max_tool_calls_per_session',
          factory_params: { limit: 3 },
        },
        {
          name: 'empty_factory',
          handler: 'omnigent.policies.builtins.safety.ask_on_os_tools',
          factory_params: {},
        },
      ]);
    });

    it('should keep a per-policy ask_timeout and refuse one that is not positive', () => {
      const spec = parseAgentSpec(`
name: a
policies:
  ask:
    handler: omnigent.policies.builtins.safety.ask_on_os_tools
    ask_timeout: 30
`);
      expect(spec.policies).toEqual([
        {
          name: 'ask',
          handler: 'omnigent.policies.builtins.safety.ask_on_os_tools',
          ask_timeout: 30,
        },
      ]);
      expectSpecError(
        'name: a\npolicies: [{name: p, handler: a.b, ask_timeout: 0}]',
        'policies[0].ask_timeout must be a number of seconds > 0',
      );
    });

    it('should reject malformed policies', () => {
      expectSpecError('name: a\npolicies: x', 'policies must be a list or a mapping');
      expectSpecError('name: a\npolicies: [x]', 'policies[0] must be a mapping');
      expectSpecError('name: a\npolicies: [{handler: a.b}]', 'policies[0].name is required');
      expectSpecError('name: a\npolicies: [{name: p}]', 'policies[0].handler is required');
      expectSpecError(
        'name: a\npolicies: [{name: p, handler: "not a handler"}]',
        'policies[0].handler must be a dotted handler id',
      );
      expectSpecError(
        'name: a\npolicies: [{name: p, handler: a.b, factory_params: [1]}]',
        'policies[0].factory_params must be a mapping',
      );
      expectSpecError(
        'name: a\npolicies: {p: {type: prompt, handler: a.b}}',
        'omnigent.policies.builtins.prompt.prompt_policy',
      );
      expectSpecError('name: a\npolicies: {p: {type: url, handler: a.b}}', 'policies.p.type');
      expectSpecError(
        'name: a\npolicies: [{name: p, handler: a.b}, {name: p, handler: a.c}]',
        'policies repeats the name p',
      );
    });
  });

  describe('terminals, params and max_iterations', () => {
    it('should keep terminals in spec order', () => {
      const spec = parseAgentSpec(`
name: a
terminals:
  zsh: {command: zsh, args: [-l], cwd: sub, env: {TERM: xterm}}
  bash: {command: bash}
  plain:
`);

      expect(Object.keys(spec.terminals)).toEqual(['zsh', 'bash', 'plain']);
      expect(spec.terminals.zsh).toEqual({
        command: 'zsh',
        args: ['-l'],
        cwd: 'sub',
        env: { TERM: 'xterm' },
      });
      expect(spec.terminals.plain).toEqual({});
    });

    it('should reject malformed terminals', () => {
      expectSpecError('name: a\nterminals: [bash]', 'terminals must be a mapping');
      expectSpecError('name: a\nterminals: {sh: bash}', 'terminals.sh must be a mapping');
      expectSpecError('name: a\nterminals: {sh: {command: 1}}', 'terminals.sh.command must be');
      expectSpecError('name: a\nterminals: {sh: {args: -l}}', 'terminals.sh.args must be a list');
      expectSpecError('name: a\nterminals: {sh: {args: [1]}}', 'terminals.sh.args must be');
      expectSpecError('name: a\nterminals: {sh: {env: {A: 1}}}', 'terminals.sh.env.A must be');
      expectSpecError('name: a\nterminals: {"1": {}}', 'terminals.1 must be named');
    });

    it('should pass params through', () => {
      expect(parseAgentSpec('name: a\nparams: {depth: {type: int, default: 2}}').params).toEqual({
        depth: { type: 'int', default: 2 },
      });
      expectSpecError('name: a\nparams: [x]', 'params must be a mapping');
    });

    it('should accept max_iterations between 1 and 200 only', () => {
      expect(parseAgentSpec('name: a\nmax_iterations: 1').maxIterations).toBe(1);
      expect(parseAgentSpec('name: a\nmax_iterations: 200').maxIterations).toBe(200);
      for (const bad of ['0', '201', '2.5', '"5"']) {
        expectSpecError(`name: a\nmax_iterations: ${bad}`, 'max_iterations must be an integer');
      }
    });
  });
});

describe(agentSpecToJson.name, () => {
  it('should use the snake_case keys of the YAML', () => {
    const json = agentSpecToJson(parseAgentSpec(`${CODER}\nmax_iterations: 7\nextra: kept-out\n`));

    expect(Object.keys(json)).toEqual([
      'name',
      'description',
      'instructions',
      'executor',
      'os_env',
      'tools',
      'policies',
      'terminals',
      'params',
      'max_iterations',
      'async',
      'cancellable',
      'timers',
    ]);
    expect(json).toMatchObject({
      os_env: { type: 'caller_process' },
      max_iterations: 7,
      executor: { auth: { api_key: '${OPENAI_API_KEY}' } },
    });
  });

  it('should survive a JSON round trip and not alias the spec', () => {
    const spec = parseAgentSpec(CODER);
    const json = agentSpecToJson(spec);

    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    (json.terminals as Record<string, unknown>).extra = {};
    expect(spec.terminals).not.toHaveProperty('extra');
  });

  it('should write os_env as null when absent', () => {
    expect(agentSpecToJson(parseAgentSpec('name: a')).os_env).toBeNull();
  });
});
