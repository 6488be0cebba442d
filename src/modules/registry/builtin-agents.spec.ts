import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { BUILTIN_TOOL_NAMES } from 'src/modules/registry/agent-spec';
import { loadBuiltinAgents } from 'src/modules/registry/builtin-agents';

const AGENTS_DIR = path.join(__dirname, '..', '..', '..', 'agents');

describe(loadBuiltinAgents.name, () => {
  describe('the agents/ folder', () => {
    it('should load echo, assistant and coder', () => {
      const agents = loadBuiltinAgents(AGENTS_DIR);

      expect(agents.map(({ spec }) => spec.name)).toEqual(['assistant', 'coder', 'echo']);
    });

    it('should give echo the built-in tools and its directives', () => {
      const echo = loadBuiltinAgents(AGENTS_DIR).find(({ spec }) => spec.name === 'echo')?.spec;

      expect(echo?.executor).toEqual({ harness: 'echo' });
      expect(echo?.osEnv).toEqual({ type: 'caller_process' });
      expect(echo?.tools.map((tool) => tool.name)).toEqual(BUILTIN_TOOL_NAMES);
      for (const directive of ['/tool <name> <json-args>', '/sleep <ms>', '/fail <message>']) {
        expect(echo?.description).toContain(directive);
      }
    });

    it('should keep the assistant key and base URL as ${NAME} references', () => {
      const assistant = loadBuiltinAgents(AGENTS_DIR).find(
        ({ spec }) => spec.name === 'assistant',
      )?.spec;

      expect(assistant?.executor).toEqual({
        harness: 'openai',
        model: 'gpt-4.1-mini',
        auth: { type: 'api_key', api_key: '${OPENAI_API_KEY}', base_url: '${OPENAI_BASE_URL}' },
      });
      expect(assistant?.instructions).toBeTruthy();
      expect(assistant?.tools).toEqual([]);
      expect(assistant?.osEnv).toBeNull();
    });

    it('should match the coder example of the agent spec', () => {
      const coder = loadBuiltinAgents(AGENTS_DIR).find(({ spec }) => spec.name === 'coder');

      expect(coder?.spec).toMatchObject({
        executor: { harness: 'openai', model: 'gpt-4.1-mini' },
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
      });
      expect(coder?.spec.tools.map((tool) => tool.name)).toEqual(BUILTIN_TOOL_NAMES);
      expect(coder?.yaml).toContain('name: coder');
    });
  });

  describe('a custom folder', () => {
    let dir: string;

    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'builtin-agents-'));
    });

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('should read .yaml and .yml files sorted by file name and skip others', async () => {
      await writeFile(path.join(dir, 'b.yml'), 'name: second\n');
      await writeFile(path.join(dir, 'a.yaml'), 'name: first\n');
      await writeFile(path.join(dir, 'README.md'), '# not a spec\n');

      const agents = loadBuiltinAgents(dir);

      expect(agents.map(({ spec }) => spec.name)).toEqual(['first', 'second']);
      expect(agents[0].yaml).toBe('name: first\n');
    });

    it('should read instructions from a sibling file', async () => {
      await writeFile(path.join(dir, 'a.yaml'), 'name: a\ninstructions: a.md\n');
      await writeFile(path.join(dir, 'a.md'), 'long instructions');

      expect(loadBuiltinAgents(dir)[0].spec.instructions).toBe('long instructions');
    });

    it('should name the file of an invalid spec', async () => {
      await writeFile(path.join(dir, 'broken.yaml'), 'name: a\nmax_iterations: 0\n');

      expect(() => loadBuiltinAgents(dir)).toThrow(/broken\.yaml: max_iterations must be/);
    });

    it('should reject duplicate agent names', async () => {
      await writeFile(path.join(dir, 'one.yaml'), 'name: same\n');
      await writeFile(path.join(dir, 'two.yaml'), 'name: same\n');

      expect(() => loadBuiltinAgents(dir)).toThrow(
        'built-in agent two.yaml: name same is already used by one.yaml',
      );
    });
  });
});
