import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Test } from 'supertest';

import { expectValid } from 'test/contract/upstream-schemas';
import { useTestApp } from 'test/e2e/create-app';
import { bundleOf, echoAgentBundle, echoAgentConfig, tarOf } from 'test/utils/agent-bundle';
import { expectErrorBody } from 'test/utils/e2e-client';

type Json = Record<string, unknown>;

const BUILTINS = ['assistant', 'coder', 'echo'];
const builtinId = (name: string) =>
  `ag_${createHash('sha256').update(`builtin:${name}`).digest('hex').slice(0, 32)}`;
const uniqueName = () => `uploaded-${randomBytes(5).toString('hex')}`;
const FIXTURES = join(__dirname, '../fixtures/agents');
const INSTRUCTIONS = { name: 'instructions.md', content: 'Repeat.\n' };

describe('agents', () => {
  const t = useTestApp('postgres');

  /** Walks GET /v1/agents page by page, checking each envelope. */
  async function walk(query: string): Promise<{ ids: string[]; hasMore: boolean[] }> {
    const ids: string[] = [];
    const hasMore: boolean[] = [];
    let after = '';
    for (let page = 0; page < 10; page += 1) {
      const res = await t.http.get(`/v1/agents?limit=1${query}${after}`).expect(200);
      expect(res.body.data).toHaveLength(1);
      expect(res.body.first_id).toBe(res.body.data[0].id);
      expect(res.body.last_id).toBe(res.body.data[0].id);
      ids.push(res.body.data[0].id);
      hasMore.push(res.body.has_more);
      if (!res.body.has_more) {
        break;
      }
      after = `&after=${res.body.last_id}`;
    }
    return { ids, hasMore };
  }

  describe('GET /v1/agents', () => {
    it('should list the three built-ins as AgentObjects with stable ids', async () => {
      const res = await t.http.get('/v1/agents').expect(200);
      expect(res.body).toMatchObject({ object: 'list', has_more: false });
      const agents = res.body.data as Json[];
      for (const agent of agents) {
        expectValid('AgentObject', agent);
      }
      expect(agents.map((a) => a.name).sort()).toEqual(BUILTINS);
      for (const name of BUILTINS) {
        expect(agents.find((a) => a.name === name)).toMatchObject({
          id: builtinId(name),
          object: 'agent',
          builtin: true,
          version: 1,
          mcp_servers: [],
          mcp_servers_editable: false,
          created_at: expect.any(Number),
        });
      }
      expect(agents.find((a) => a.name === 'echo')?.harness).toBe('echo');
      const coder = agents.find((a) => a.name === 'coder') as Json;
      expect(coder.policies).toEqual([
        {
          name: 'ask_before_os_tools',
          type: 'function',
          on: [],
          description: 'omnigent.policies.builtins.safety.ask_on_os_tools',
        },
        {
          name: 'tool_call_cap',
          type: 'function',
          on: [],
          description: 'omnigent.policies.builtins.safety.max_tool_calls_per_session',
        },
      ]);
      expect(coder.terminals).toEqual(['shell']);
      expect((coder.tools as Json[]).map((tool) => tool.name)).toEqual([
        'list_dir',
        'read_file',
        'write_file',
        'edit_file',
        'shell',
      ]);
      expect(res.body.first_id).toBe(agents[0].id);
      expect(res.body.last_id).toBe(agents[agents.length - 1].id);
    });

    it('should page with limit=1 and after until has_more is false', async () => {
      const desc = await walk('');
      expect([...desc.ids].sort()).toEqual(BUILTINS.map(builtinId).sort());
      expect(desc.hasMore).toEqual([true, true, false]);
      const all = await t.http.get('/v1/agents').expect(200);
      expect(desc.ids).toEqual(all.body.data.map((a: Json) => a.id));
    });

    // Paging asc with after must not hand back the cursor agent again (an endless loop for a
    // client that follows has_more).
    it('should sort ascending with order=asc, forwards and page by page', async () => {
      const desc = await t.http.get('/v1/agents').expect(200);
      const asc = await t.http.get('/v1/agents?order=asc').expect(200);
      const descIds = desc.body.data.map((a: Json) => a.id);
      expect(asc.body.data.map((a: Json) => a.id)).toEqual([...descIds].reverse());
      const paged = await walk('&order=asc');
      expect(paged.ids).toEqual([...descIds].reverse());
      expect(paged.hasMore).toEqual([true, true, false]);
    });

    it('should page backward with before', async () => {
      const all = (await t.http.get('/v1/agents').expect(200)).body.data.map((a: Json) => a.id);
      const res = await t.http.get(`/v1/agents?limit=2&before=${all[2]}`).expect(200);
      expect(res.body.data.map((a: Json) => a.id)).toEqual([all[0], all[1]]);
    });

    it('should refuse bad list parameters', async () => {
      expectErrorBody(await t.http.get('/v1/agents?limit=0'), 422, 'validation_error');
      expectErrorBody(await t.http.get('/v1/agents?order=up'), 422, 'validation_error');
      const cursor = await t.http.get(`/v1/agents?after=ag_${'f'.repeat(32)}`);
      expectErrorBody(cursor, 400, 'invalid_input');
    });
  });

  describe('multipart POST /v1/sessions', () => {
    const upload = (
      bundle: Buffer | null,
      metadata: string | null = '{}',
      filename = 'agent.tar.gz',
    ): Test => {
      let req = t.http.post('/v1/sessions').set('Origin', 'omnigent://internal');
      if (metadata !== null) {
        req = req.field('metadata', metadata);
      }
      if (bundle !== null) {
        req = req.attach('bundle', bundle, { filename, contentType: 'application/gzip' });
      }
      return req;
    };

    it('should create a session with a session-scoped agent from a bundle', async () => {
      const name = uniqueName();
      const metadata = JSON.stringify({ title: 'Uploaded', labels: { via: 'sdk' } });
      const res = await upload(await echoAgentBundle(name), metadata).expect(201);
      expect(res.body).toEqual({
        session_id: expect.stringMatching(/^conv_[0-9a-f]{32}$/),
        agent_id: expect.stringMatching(/^ag_[0-9a-f]{32}$/),
        agent_name: name,
      });
      const { session_id: sessionId, agent_id: agentId } = res.body;

      const session = await t.http.get(`/v1/sessions/${sessionId}`).expect(200);
      expectValid('SessionResponse', session.body);
      expect(session.body).toMatchObject({
        id: sessionId,
        agent_id: agentId,
        agent_name: name,
        title: 'Uploaded',
        labels: { via: 'sdk' },
        harness: 'echo',
        status: 'idle',
        runner_id: null,
      });

      const agent = await t.http.get(`/v1/sessions/${sessionId}/agent`).expect(200);
      expectValid('AgentObject', agent.body);
      expect(agent.body).toMatchObject({
        id: agentId,
        object: 'agent',
        name,
        description: 'Uploaded by an e2e test',
        harness: 'echo',
        builtin: false,
        tools: [
          { name: 'list_dir', runtime: 'server' },
          { name: 'read_file', runtime: 'server' },
        ],
      });

      const catalog = await t.http.get('/v1/agents?limit=1000').expect(200);
      const listed = catalog.body.data as Json[];
      expect(listed.map((a) => a.id)).not.toContain(agentId);
      expect(listed.map((a) => a.name)).not.toContain(name);
    });

    it('should accept an upstream spec of every tool form and report it', async () => {
      const yaml = readFileSync(join(FIXTURES, 'upstream-tools.yaml'), 'utf8');
      const policies = readFileSync(join(FIXTURES, 'upstream-policies.yaml'), 'utf8');
      const name = uniqueName();
      const config = `${yaml.replace('name: toolbox', `name: ${name}`)}\n${policies
        .split('\n')
        .filter((line) => !line.startsWith('name:'))
        .join('\n')}\nterminals:\n  shell: {command: bash, scrollback: 100}\n`;
      const res = await upload(await bundleOf([{ name: 'config.yaml', content: config }]));
      expect(res.status).toBe(201);

      const agent = await t.http.get(`/v1/sessions/${res.body.session_id}/agent`).expect(200);
      expectValid('AgentObject', agent.body);
      expect(agent.body.mcp_servers).toEqual([
        expect.objectContaining({ name: 'files', transport: 'stdio', command: 'npx' }),
        expect.objectContaining({
          name: 'search',
          transport: 'http',
          url: 'https://mcp.example.com/mcp',
          headers: { Authorization: '***' },
        }),
      ]);
      expect(
        (agent.body.tools as Json[]).map((tool) => [tool.name, tool.runtime]).slice(5),
      ).toEqual([
        ['files', 'mcp'],
        ['search', 'mcp'],
        ['weather', 'unavailable'],
        ['pick_color', 'client'],
        ['researcher', 'agent'],
        ['parent_tools', 'unavailable'],
        ['recurse', 'agent'],
        ['sandboxed', 'unavailable'],
      ]);
      expect(agent.body.policies.map((p: Json) => [p.name, p.on])).toEqual([
        ['ask_os', ['tool_call']],
        ['cap', ['tool_call:shell', 'tool_result']],
        ['cap_factory', []],
      ]);
      expect(agent.body.terminals).toEqual(['shell']);
    });

    it('should copy an uploaded agent into a fork that outlives its source', async () => {
      const name = uniqueName();
      const created = await upload(await echoAgentBundle(name)).expect(201);
      const { session_id: sessionId, agent_id: agentId } = created.body;

      const fork = await t.http.post(`/v1/sessions/${sessionId}/fork`).send({}).expect(201);
      expectValid('SessionResponse', fork.body);
      expect(fork.body.agent_id).not.toBe(agentId);
      expect(fork.body.agent_name).toBe(name);

      await t.http.delete(`/v1/sessions/${sessionId}`).expect(200);
      const forkAgent = await t.http.get(`/v1/sessions/${fork.body.id}/agent`).expect(200);
      expect(forkAgent.body).toMatchObject({ id: fork.body.agent_id, name, builtin: false });
      const gone = await t.http.post('/v1/sessions').send({ agent_id: agentId });
      expectErrorBody(gone, 404, 'not_found', /Agent not found/);
    });

    // A session may be created on the uploaded agent of a session the caller can use
    // (spec/api-reference.md §3.2); deleting that source session must still work (no 500).
    it('should delete a session whose uploaded agent another session uses', async () => {
      const name = uniqueName();
      const created = await upload(await echoAgentBundle(name)).expect(201);
      const { session_id: sessionId, agent_id: agentId } = created.body;
      const reuse = await t.http.post('/v1/sessions').send({ agent_id: agentId }).expect(201);
      expect(reuse.body).toMatchObject({ agent_id: agentId, agent_name: name });

      const res = await t.http.delete(`/v1/sessions/${sessionId}`);
      expect({ status: res.status, body: res.body }).toEqual({
        status: 200,
        body: { id: sessionId, object: 'conversation.deleted', deleted: true },
      });
    });

    it('should accept a bundle wrapped in one top-level directory', async () => {
      const name = uniqueName();
      const bundle = await bundleOf([
        { name: 'agent/', type: 'directory' },
        { name: 'agent/config.yaml', content: echoAgentConfig(name) },
        { name: 'agent/instructions.md', content: 'Repeat.\n' },
      ]);
      const res = await upload(bundle).expect(201);
      expect(res.body.agent_name).toBe(name);
    });

    it.each([
      [
        'a path traversal entry',
        [{ name: '../escape.txt', content: 'x' }],
        /Invalid agent bundle: .*"\.\." segment/,
      ],
      [
        'an absolute path entry',
        [{ name: '/tmp/omnigent-e2e-absolute.txt', content: 'x' }],
        /Invalid agent bundle: .*absolute path/,
      ],
      [
        'a symlink',
        [{ name: 'evil', type: 'symlink' as const, linkname: '/etc/passwd' }],
        /Invalid agent bundle: .*symlink; only files and directories/,
      ],
      [
        'a hard link',
        [{ name: 'evil', type: 'link' as const, linkname: 'config.yaml' }],
        /Invalid agent bundle: .*only files and directories/,
      ],
    ])('should refuse a bundle with %s with 400', async (_case, extra, message) => {
      const bundle = await bundleOf([
        { name: 'config.yaml', content: echoAgentConfig(uniqueName()) },
        INSTRUCTIONS,
        ...extra,
      ]);
      expectErrorBody(await upload(bundle), 400, 'invalid_input', message);
    });

    it('should refuse a bundle that is not gzip with 400', async () => {
      const plainTar = await tarOf([{ name: 'config.yaml', content: echoAgentConfig('x') }]);
      const res = await upload(plainTar);
      expectErrorBody(res, 400, 'invalid_input', /Invalid agent bundle: .*not a gzip archive/);
      const garbage = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03]);
      expectErrorBody(await upload(garbage), 400, 'invalid_input', /Invalid agent bundle/);
    });

    it('should refuse a bundle without config.yaml with 400', async () => {
      const bundle = await bundleOf([INSTRUCTIONS]);
      expectErrorBody(await upload(bundle), 400, 'invalid_input', /no config\.yaml/);
    });

    it.each([
      ['a non-mapping executor', 'name: bad\nexecutor: 5\n', /executor must be a mapping/],
      ['invalid YAML', 'name: [unclosed\n', /not valid YAML/],
      ['no name', 'executor: { harness: echo }\n', /name is required/],
      ['an unknown built-in tool', 'name: bad\ntools: [rm_rf]\n', /tools\[0\] must be one of/],
      [
        'a missing instructions file',
        'name: bad\ninstructions: prompts/missing.md\n',
        /instructions: the file prompts\/missing\.md is not in the bundle/,
      ],
      [
        'an MCP tool without command or url',
        'name: bad\ntools: {srv: {type: mcp}}\n',
        /tools\.srv\.command is required/,
      ],
    ])('should refuse a config.yaml with %s with 400', async (_case, yaml, message) => {
      const bundle = await bundleOf([{ name: 'config.yaml', content: yaml }]);
      const res = await upload(bundle);
      expectErrorBody(res, 400, 'invalid_input', message);
      expect(res.body.message).toMatch(/^Invalid agent bundle: /);
    });

    it('should answer a missing bundle part with 422 at body.bundle', async () => {
      const res = await upload(null, '{}');
      expectErrorBody(res, 422, 'validation_error');
      expect(res.body.detail).toEqual([
        { loc: ['body', 'bundle'], msg: 'Field required', type: 'missing', input: null },
      ]);
      const neither = await t.http
        .post('/v1/sessions')
        .set('Origin', 'omnigent://internal')
        .field('other', 'x');
      expectErrorBody(neither, 422, 'validation_error');
      expect(neither.body.detail.map((d: Json) => d.loc)).toEqual([
        ['body', 'metadata'],
        ['body', 'bundle'],
      ]);
    });

    it('should answer unparsable metadata with 400 invalid session metadata', async () => {
      const bundle = await echoAgentBundle(uniqueName());
      const res = await upload(bundle, '{"title": ');
      expectErrorBody(res, 400, 'invalid_input', /^invalid session metadata/);
      const list = await upload(bundle, '["title"]');
      expectErrorBody(list, 400, 'invalid_input', /^invalid session metadata/);
    });

    it('should answer unknown or invalid metadata keys with 400', async () => {
      const bundle = await echoAgentBundle(uniqueName());
      const unknown = await upload(bundle, JSON.stringify({ title: 'x', colour: 'red' }));
      expectErrorBody(unknown, 400, 'invalid_input', /^invalid session metadata.*colour/);
      const badType = await upload(bundle, JSON.stringify({ title: 5 }));
      expectErrorBody(badType, 400, 'invalid_input', /^invalid session metadata/);
      const badEffort = await upload(bundle, JSON.stringify({ reasoning_effort: 'extreme' }));
      expectErrorBody(badEffort, 400, 'invalid_input', /reasoning_effort/);
    });

    it('should refuse an untrusted Origin with 403', async () => {
      const res = await t.http
        .post('/v1/sessions')
        .set('Origin', 'https://evil.example')
        .field('metadata', '{}')
        .attach('bundle', await echoAgentBundle(uniqueName()), 'agent.tar.gz');
      expectErrorBody(res, 403, 'forbidden');
    });
  });
});
