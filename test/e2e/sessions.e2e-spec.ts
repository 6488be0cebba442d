import { useTestApp } from 'test/e2e/create-app';
import {
  clientFor,
  E2eClient,
  expectErrorBody,
  JWT_ENV,
  randomSessionId,
  uniqueUser,
} from 'test/utils/e2e-client';
import { ECHO_ID, expectSession, Json, newSession, postCompaction } from 'test/utils/session-e2e';

describe('sessions', () => {
  const t = useTestApp('postgres', JWT_ENV, { listen: true });

  describe('create', () => {
    const client = () => clientFor(t, uniqueUser('create'));

    it('should create a session on the echo agent and answer the full SessionResponse', async () => {
      const c = client();
      const session = await newSession(c, { title: 'Create me', labels: { team: 'e2e' } });
      expect(session).toMatchObject({
        id: expect.stringMatching(/^conv_[0-9a-f]{32}$/),
        agent_id: ECHO_ID,
        agent_name: 'echo',
        status: 'idle',
        title: 'Create me',
        labels: { team: 'e2e' },
        items: [],
        kind: 'default',
        parent_session_id: null,
        runner_id: null,
        runner_online: false,
        host_online: null,
        archived: false,
        harness: 'echo',
        permission_level: 4,
      });
      expect(session.root_conversation_id).toBe(session.id);
      expect(Number.isInteger(session.created_at)).toBe(true);
      expect(Math.abs((session.created_at as number) - Date.now() / 1000)).toBeLessThan(60);
    });

    it("should accept upstream's bare 32-hex agent id", async () => {
      const session = await newSession(client(), { agent_id: ECHO_ID.slice(3) });
      expect(session.agent_id).toBe(ECHO_ID);
    });

    it('should answer an unknown agent id with 404 not_found', async () => {
      const res = await client()
        .post('/v1/sessions')
        .send({ agent_id: `ag_${'0'.repeat(32)}` });
      expectErrorBody(res, 404, 'not_found', /Agent not found/);
    });

    it('should store initial items as seed history when no runner is bound', async () => {
      const session = await newSession(client(), {
        initial_items: [
          {
            type: 'message',
            data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
          },
        ],
      });
      expect(session.items).toEqual([
        expect.objectContaining({
          type: 'message',
          response_id: 'seed',
          data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
        }),
      ]);
    });
  });

  describe('get', () => {
    let c: E2eClient;
    let id: string;

    beforeAll(async () => {
      c = clientFor(t, uniqueUser('get'));
      id = (await newSession(c, { title: 'Snapshot' })).id as string;
      await postCompaction(c, id, 'snapshot summary');
    });

    it('should answer every field, nulls included, to be revalidated (private, no-cache)', async () => {
      const res = await c.get(`/v1/sessions/${id}`);
      const session = expectSession(res);
      expect(res.headers['cache-control']).toBe('private, no-cache');
      expect(session).toMatchObject({ id, title: 'Snapshot', runner_online: false });
      expect(session.items).toHaveLength(1);
    });

    it('should answer 304 without a body to If-None-Match of its strong ETag, until it changes', async () => {
      const first = await c.get(`/v1/sessions/${id}`).expect(200);
      const etag = first.headers.etag as string;
      expect(etag).toMatch(/^"[^"]+"$/);

      const same = await c.get(`/v1/sessions/${id}`).set('If-None-Match', etag);
      expect(same.status).toBe(304);
      expect(same.text ?? '').toBe('');

      await c.patch(`/v1/sessions/${id}`).send({ title: 'Snapshot, renamed' }).expect(200);
      const changed = await c.get(`/v1/sessions/${id}`).set('If-None-Match', etag);
      expect(changed.status).toBe(200);
      expect(changed.headers.etag).not.toBe(etag);
      expect(expectSession(changed).title).toBe('Snapshot, renamed');
    });

    it('should leave items out with include_items=false', async () => {
      const session = expectSession(await c.get(`/v1/sessions/${id}?include_items=false`));
      expect(session.items).toEqual([]);
    });

    it('should report runner_online null with include_liveness=false', async () => {
      const res = await c.get(`/v1/sessions/${id}?include_liveness=false`);
      const session = expectSession(res);
      expect(session.runner_online).toBeNull();
      expect(session.host_online).toBeNull();
    });

    it('should accept the bare 32-hex form of the session id', async () => {
      const session = expectSession(await c.get(`/v1/sessions/${id.slice(5)}`));
      expect(session.id).toBe(id);
    });

    it('should answer a well-formed unknown id with 404 not_found', async () => {
      const missing = randomSessionId();
      expectErrorBody(await c.get(`/v1/sessions/${missing}`), 404, 'not_found');
    });
  });

  describe('update', () => {
    let c: E2eClient;
    let id: string;

    beforeAll(async () => {
      c = clientFor(t, uniqueUser('patch'));
      id = (await newSession(c, { title: 'Before', labels: { a: '1' } })).id as string;
    });

    const patch = (body: Json) => c.patch(`/v1/sessions/${id}`).send(body);

    it('should change the title and merge labels', async () => {
      expect(expectSession(await patch({ title: 'After' }))).toMatchObject({
        title: 'After',
        labels: { a: '1' },
      });
      expect(expectSession(await patch({ labels: { b: '2' } })).labels).toEqual({
        a: '1',
        b: '2',
      });
      expect(expectSession(await c.get(`/v1/sessions/${id}`))).toMatchObject({
        title: 'After',
        labels: { a: '1', b: '2' },
      });
    });

    it('should refuse a reserved label with 400', async () => {
      const res = await patch({ labels: { 'omnigent.turn_actor': 'me' } });
      expectErrorBody(res, 400, 'invalid_input', /omnigent\.turn_actor/);
      expectErrorBody(await patch({ labels: { 'cost_control.x': '1' } }), 400, 'invalid_input');
    });

    it('should set model_override and clear it with "default"', async () => {
      expect(expectSession(await patch({ model_override: 'gpt-4o-mini' })).model_override).toBe(
        'gpt-4o-mini',
      );
      expect(expectSession(await patch({ model_override: 'default' })).model_override).toBeNull();
      expectErrorBody(await patch({ model_override: '  ' }), 400, 'invalid_input');
    });

    it('should set reasoning_effort, clear it, and refuse an unknown value with 400', async () => {
      expect(expectSession(await patch({ reasoning_effort: 'high' })).reasoning_effort).toBe(
        'high',
      );
      expect(expectSession(await patch({ reasoning_effort: 'reset' })).reasoning_effort).toBeNull();
      const res = await patch({ reasoning_effort: 'extreme' });
      expectErrorBody(res, 400, 'invalid_input', /reasoning_effort/);
    });

    it('should keep external_session_id write-once', async () => {
      expect(expectSession(await patch({ external_session_id: 'ext-1' }))).toMatchObject({
        external_session_id: 'ext-1',
      });
      expectSession(await patch({ external_session_id: 'ext-1' }));
      expectErrorBody(await patch({ external_session_id: 'ext-2' }), 400, 'invalid_input');
      expect(expectSession(await c.get(`/v1/sessions/${id}`)).external_session_id).toBe('ext-1');
    });

    it('should set and clear cost_control_mode_override, refusing other values with 400', async () => {
      expect(
        expectSession(await patch({ cost_control_mode_override: 'on' })).cost_control_mode_override,
      ).toBe('on');
      expect(
        expectSession(await patch({ cost_control_mode_override: null })).cost_control_mode_override,
      ).toBeNull();
      // spec/api-reference.md §3.5: "other values → 400".
      const res = await patch({ cost_control_mode_override: 'maybe' });
      expectErrorBody(res, 400, 'invalid_input');
    });

    it('should answer an unknown field with 422 extra_forbidden', async () => {
      const res = await patch({ title: 'x', colour: 'red' });
      expectErrorBody(res, 422, 'validation_error');
      expect(res.body.detail[0]).toMatchObject({
        type: 'extra_forbidden',
        loc: ['body', 'colour'],
      });
      expect(expectSession(await c.get(`/v1/sessions/${id}`)).title).toBe('After');
    });

    it('should refuse to bind an unknown or offline runner with 400', async () => {
      const unknown = `runner_${'ab'.repeat(16)}`;
      const res = await patch({ runner_id: unknown });
      expectErrorBody(res, 400, 'invalid_input', `runner '${unknown}' is not registered`);
      expectErrorBody(await patch({ runner_id: 'not-a-runner' }), 400, 'invalid_input');
      const session = expectSession(await patch({ runner_id: '' }));
      expect(session.runner_id).toBeNull();
    });
  });
});
