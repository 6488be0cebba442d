import {
  agentSpecToJson,
  BUILTIN_TOOL_NAMES,
  parseAgentSpec,
} from 'src/modules/registry/agent-spec';
import { expectSpecError } from 'test/utils/agent-spec-errors';

describe('agent spec: os_env and tools', () => {
  it('should default to all built-ins when os_env is set', () => {
    const spec = parseAgentSpec('name: a\nos_env: {type: caller_process, cwd: src}');

    expect(spec.osEnv).toEqual({ type: 'caller_process', cwd: 'src' });
    expect(spec.tools).toEqual(BUILTIN_TOOL_NAMES.map((name) => ({ name, runtime: 'server' })));
  });

  it('should keep an explicit tool list, including client tools', () => {
    const spec = parseAgentSpec(`
name: a
os_env: {type: caller_process}
tools:
  - read_file
  - name: pick_color
    runtime: client
    description: Ask the user for a color
    parameters: {type: object, properties: {hint: {type: string}}}
`);

    expect(spec.tools).toEqual([
      { name: 'read_file', runtime: 'server' },
      {
        name: 'pick_color',
        runtime: 'client',
        description: 'Ask the user for a color',
        parameters: { type: 'object', properties: { hint: { type: 'string' } } },
      },
    ]);
  });

  it('should allow an empty tool list', () => {
    expect(parseAgentSpec('name: a\nos_env: {type: caller_process}\ntools: []').tools).toEqual([]);
  });

  it('should reject unknown built-ins and malformed tool entries', () => {
    expectSpecError('name: a\ntools: [read_file, browse]', 'tools[1] must be one of');
    expectSpecError('name: a\ntools: read_file', 'tools must be a mapping');
    expectSpecError('name: a\ntools: [1]', 'tools[0] must be a tool name');
    expectSpecError('name: a\ntools: [{runtime: client}]', 'tools[0].name is required');
    expectSpecError('name: a\ntools: [{name: x}]', 'tools[0].runtime must be client or server');
    expectSpecError(
      'name: a\ntools: [{name: x, runtime: client, parameters: [1]}]',
      'tools[0].parameters must be a mapping',
    );
    expectSpecError(
      'name: a\ntools: [{name: "bad name", runtime: client}]',
      'tools[0].name must be named with 1-64',
    );
    expectSpecError('name: a\ntools: [shell, shell]', 'tools repeats the tool shell');
  });

  it('should reject a bad os_env', () => {
    expectSpecError('name: a\nos_env: local', 'os_env must be a mapping');
    expectSpecError('name: a\nos_env: {type: docker}', 'os_env.type must be caller_process');
    expectSpecError('name: a\nos_env: {type: caller_process, cwd: 3}', 'os_env.cwd must be');
  });

  it('should accept a relative or absolute os_env.cwd, as upstream', () => {
    for (const cwd of ['src', '/srv/project', '../sibling']) {
      expect(
        parseAgentSpec(`name: a\nos_env: {type: caller_process, cwd: "${cwd}"}`).osEnv?.cwd,
      ).toBe(cwd);
    }
  });
});

describe('agent spec: os_env.sandbox', () => {
  it("should accept upstream's sandbox forms and pass them to runners", () => {
    const sandbox = (yaml: string) => parseAgentSpec(`name: a\nos_env: ${yaml}`).osEnv?.sandbox;

    expect(sandbox('{type: caller_process}')).toBeUndefined();
    expect(sandbox('{type: caller_process, sandbox: null}')).toEqual({ type: null });
    expect(sandbox('{type: caller_process, sandbox: {type: null}}')).toEqual({ type: null });
    for (const type of ['auto', 'linux_bwrap', 'darwin_seatbelt', 'windows_jobobject', 'none']) {
      expect(sandbox(`{type: caller_process, sandbox: {type: ${type}}}`)).toEqual({ type });
    }
    expect(
      sandbox(
        '{type: caller_process, sandbox: {type: linux_bwrap, allow_network: false, ' +
          'write_paths: [/srv/cache, build], egress_rules: [{allow: "*.pypi.org"}]}}',
      ),
    ).toEqual({
      type: 'linux_bwrap',
      allow_network: false,
      write_paths: ['/srv/cache', 'build'],
    });
    expect(sandbox('{type: caller_process, sandbox: {allow_network: true}}')).toEqual({
      type: null,
      allow_network: true,
    });
    expect(
      agentSpecToJson(
        parseAgentSpec('name: a\nos_env: {type: caller_process, sandbox: {type: none}}'),
      ).os_env,
    ).toEqual({ type: 'caller_process', sandbox: { type: 'none' } });
  });

  it('should name the field of a bad sandbox', () => {
    const bad = (yaml: string, message: string) =>
      expectSpecError(`name: a\nos_env: {type: caller_process, sandbox: ${yaml}}`, message);

    bad('bwrap', 'os_env.sandbox must be a mapping');
    bad('{type: docker}', 'os_env.sandbox.type must be one of auto, linux_bwrap');
    bad('{allow_network: "no"}', 'os_env.sandbox.allow_network must be a boolean');
    bad('{write_paths: /tmp}', 'os_env.sandbox.write_paths must be a list');
    bad('{write_paths: [3]}', 'os_env.sandbox.write_paths must be a list of paths');
    bad('{write_paths: [""]}', 'os_env.sandbox.write_paths must be a list of paths');
  });
});
