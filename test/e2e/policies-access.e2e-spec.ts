import { PolicyEvaluationService } from 'src/modules/policies/policy-evaluation.service';
import { PolicyStateRepository } from 'src/modules/policies/policy-state.repository';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { useTestApp } from 'test/e2e/create-app';
import { clientFor, E2eClient, expectErrorBody, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import { ECHO_ID } from 'test/utils/session-e2e';

const MAX_CALLS = 'omnigent.policies.builtins.safety.max_tool_calls_per_session';

describe('policies: access and state (JWT mode)', () => {
  let alice: E2eClient;
  let bob: E2eClient;
  let admin: E2eClient;
  let aliceSession: string;
  let aliceOther: string;
  let policyId: string;
  const adminId = uniqueUser('admin');

  const t = useTestApp('postgres', { ...JWT_ENV, OMNIGENT_ADMINS: adminId });
  beforeAll(async () => {
    alice = clientFor(t, uniqueUser('alice'));
    bob = clientFor(t, uniqueUser('bob'));
    admin = clientFor(t, adminId);
    aliceSession = (await alice.post('/v1/sessions').send({ agent_id: ECHO_ID })).body.id;
    aliceOther = (await alice.post('/v1/sessions').send({ agent_id: ECHO_ID })).body.id;
    const created = await alice
      .post(`/v1/sessions/${aliceSession}/policies`)
      .send({ name: 'cap', type: 'python', handler: MAX_CALLS, factory_params: { limit: 10 } });
    expect(created.status).toBe(200);
    policyId = created.body.id;
  });

  it("should answer 404 for another user's session policies and approvals", async () => {
    const base = `/v1/sessions/${aliceSession}`;
    const elicit = `elicit_${'a'.repeat(32)}`;
    const calls = [
      bob.get(`${base}/policies`),
      bob.post(`${base}/policies`).send({ name: 'x', type: 'python', handler: MAX_CALLS }),
      bob.get(`${base}/policies/${policyId}`),
      bob.patch(`${base}/policies/${policyId}`).send({ enabled: false }),
      bob.delete(`${base}/policies/${policyId}`),
      bob.get(`${base}/elicitations/${elicit}`),
      bob.post(`${base}/elicitations/${elicit}/resolve`).send({ action: 'accept' }),
    ];
    for (const res of await Promise.all(calls)) {
      expectErrorBody(res, 404, 'not_found');
    }
    const still = await alice.get(`${base}/policies/${policyId}`);
    expect(still.body).toMatchObject({ id: policyId, enabled: true });
  });

  it("should answer 404 for a policy id addressed under another of the owner's sessions", async () => {
    expectErrorBody(
      await alice.get(`/v1/sessions/${aliceOther}/policies/${policyId}`),
      404,
      'not_found',
    );
    await alice.delete(`/v1/sessions/${aliceOther}/policies/${policyId}`).expect(200);
    await alice.get(`/v1/sessions/${aliceSession}/policies/${policyId}`).expect(200);
  });

  it('should keep server-wide policy changes to admins', async () => {
    const body = { name: `cap_${Date.now()}`, type: 'python', handler: MAX_CALLS };
    expectErrorBody(await alice.post('/v1/policies').send(body), 403, 'forbidden');
    const created = await admin.post('/v1/policies').send(body);
    expect(created.status).toBe(200);
    const id = created.body.id as string;
    try {
      await alice.get(`/v1/policies/${id}`).expect(200);
      expectErrorBody(
        await alice.patch(`/v1/policies/${id}`).send({ enabled: false }),
        403,
        'forbidden',
      );
      expectErrorBody(await alice.delete(`/v1/policies/${id}`), 403, 'forbidden');
      expectErrorBody(await t.http.get('/v1/policies'), 401, 'unauthorized');
      expectErrorBody(await t.http.get('/v1/policy-registry'), 401, 'unauthorized');
    } finally {
      await admin.delete(`/v1/policies/${id}`).expect(200);
    }
  });

  describe('POST …/policies/evaluate', () => {
    const evaluate = (c: E2eClient, body: unknown, session = aliceSession) =>
      c.post(`/v1/sessions/${session}/policies/evaluate`).send(body as object);

    it.each([
      [[1, 2], /JSON object/],
      [{}, /event is required/],
      [{ event: 'x' }, /event is required/],
      [{ event: { type: 'PHASE_NOPE', data: {} } }, /event.type must be one of/],
      [{ event: { type: 7, data: {} } }, /event.type must be one of/],
      [{ event: { type: 'PHASE_TOOL_CALL', data: 'ls' } }, /must be an object/],
      [{ event: { type: 'PHASE_TOOL_CALL', data: { arguments: {} } } }, /tool name/],
      [{ event: { type: 'PHASE_TOOL_RESULT', data: { result: 'x' } } }, /tool name/],
      [{ event: { type: 'PHASE_REQUEST', data: 5 } }, /object or a string/],
      [{ event: { type: 'PHASE_REQUEST', data: 'hi', context: [] } }, /context must be an object/],
      [
        { event: { type: 'PHASE_REQUEST', data: 'hi' }, _omnigent_elicitation_id: 'elicit_x' },
        /elicit_evaluate_/,
      ],
    ])('should answer 400 to %j', async (body, message) => {
      expectErrorBody(await evaluate(alice, body), 400, 'invalid_input', message);
    });

    it('should refuse a body that is not JSON (415) and hide other users’ sessions (404)', async () => {
      const text = await alice
        .post(`/v1/sessions/${aliceSession}/policies/evaluate`)
        .set('Content-Type', 'text/plain')
        .send('{"event":{}}');
      expect(text.status).toBe(415);
      expectErrorBody(
        await evaluate(bob, { event: { type: 'PHASE_REQUEST', data: 'hi' } }),
        404,
        'not_found',
      );
    });

    it('should answer the verdict of the session policies', async () => {
      const session = (await alice.post('/v1/sessions').send({ agent_id: ECHO_ID })).body.id;
      await alice
        .post(`/v1/sessions/${session}/policies`)
        .send({
          name: 'no_writes',
          type: 'python',
          handler: 'omnigent.policies.builtins.orchestration.read_only_os',
        })
        .expect(200);
      const call = (name: string) =>
        evaluate(
          alice,
          { event: { type: 'PHASE_TOOL_CALL', data: { name, arguments: {} } } },
          session,
        );
      expect((await call('read_file')).body).toEqual({ result: 'POLICY_ACTION_ALLOW' });
      expect((await call('write_file')).body).toEqual({
        result: 'POLICY_ACTION_DENY',
        reason: 'This agent is read-only: file changes are not allowed.',
      });
    });
  });

  it('should hold an ASK for an edit-level caller until the human answers', async () => {
    const session = (await alice.post('/v1/sessions').send({ agent_id: ECHO_ID })).body.id;
    await alice
      .post(`/v1/sessions/${session}/policies`)
      .send({
        name: 'ask',
        type: 'python',
        handler: 'omnigent.policies.builtins.safety.ask_on_os_tools',
      })
      .expect(200);
    const held = alice
      .post(`/v1/sessions/${session}/policies/evaluate`)
      .send({ event: { type: 'PHASE_TOOL_CALL', data: { name: 'Bash', arguments: {} } } })
      .then((res) => res);
    let pending: { elicitation_id: string }[] = [];
    for (let i = 0; i < 50 && pending.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      pending = (await alice.get(`/v1/sessions/${session}`)).body.pending_elicitations;
    }
    expect(pending).toHaveLength(1);
    await alice
      .post(`/v1/sessions/${session}/elicitations/${pending[0].elicitation_id}/resolve`)
      .send({ action: 'accept' })
      .expect(202);
    expect((await held).body).toEqual({ result: 'POLICY_ACTION_ALLOW' });
  });

  it('should lose no counter update under concurrent tool calls', async () => {
    const session = await t.app.get(SessionsRepository).getById(aliceSession);
    const evaluation = t.app.get(PolicyEvaluationService);
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        evaluation.evaluate(session!, {
          phase: 'tool_call',
          target: 'list_dir',
          data: { name: 'list_dir', arguments: { i } },
        }),
      ),
    );
    expect(results.filter((r) => r.result === 'ALLOW')).toHaveLength(10);
    expect(results.filter((r) => r.result === 'DENY')).toHaveLength(15);
    const state = await t.app.get(PolicyStateRepository).get(aliceSession);
    expect(state.state._policy_tool_call_count).toBe(10);
  });
});
