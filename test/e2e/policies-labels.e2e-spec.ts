import { Test } from 'supertest';

import { ElicitationsRepository } from 'src/modules/policies/elicitations.repository';
import { ElicitationsService } from 'src/modules/policies/elicitations.service';
import { PolicyStateRepository } from 'src/modules/policies/policy-state.repository';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { useTestApp } from 'test/e2e/create-app';
import { bundleOf } from 'test/utils/agent-bundle';
import { clientFor } from 'test/utils/e2e-client';
import { pendingApproval } from 'test/utils/policy-sessions';

const ASK_OS = 'omnigent.policies.builtins.safety.ask_on_os_tools';
const MAX_CALLS = 'omnigent.policies.builtins.safety.max_tool_calls_per_session';

/** An echo agent whose guardrails declare an `env` label and two label-gated policies. */
function labelledConfig(name: string): string {
  return [
    `name: ${name}`,
    'executor: {harness: echo}',
    'os_env: {type: caller_process}',
    'tools: [list_dir, read_file]',
    'guardrails:',
    '  ask_timeout: 600',
    '  labels:',
    '    env: {initial: dev, values: [dev, prod]}',
    '  policies:',
    '    prod_read_only:',
    '      handler: omnigent.policies.builtins.orchestration.read_only_os',
    '      condition: {env: prod}',
    '    gold_cap:',
    `      handler: ${MAX_CALLS}`,
    '      factory_params: {limit: 100}',
    '      condition: {env: [dev, prod], tier: gold}',
    '',
  ].join('\n');
}

describe('policies: labels, conditions and held writes (PostgreSQL)', () => {
  let seq = 0;

  const t = useTestApp('postgres');

  async function uploadSession(labels: Record<string, string> = {}): Promise<string> {
    const name = `labelled_${Date.now()}_${seq++}`;
    const bundle = await bundleOf([{ name: 'config.yaml', content: labelledConfig(name) }]);
    const res = await t.http
      .post('/v1/sessions')
      .set('Origin', 'omnigent://internal')
      .field('metadata', JSON.stringify({ labels }))
      .attach('bundle', bundle, { filename: 'agent.tar.gz', contentType: 'application/gzip' });
    expect(res.status).toBe(201);
    return res.body.session_id as string;
  }

  const evaluateCall = (session: string, name: string): Test =>
    t.http
      .post(`/v1/sessions/${session}/policies/evaluate`)
      .send({ event: { type: 'PHASE_TOOL_CALL', data: { name, arguments: { path: 'x' } } } });
  const labelsOf = async (session: string) =>
    (await t.http.get(`/v1/sessions/${session}`).expect(200)).body.labels as Record<string, string>;
  const stateOf = async (session: string) =>
    (await t.app.get(PolicyStateRepository).get(session)).state;

  it('should seed the initial label once and gate policies on the current labels', async () => {
    const session = await uploadSession();
    expect((await evaluateCall(session, 'write_file')).body).toEqual({
      result: 'POLICY_ACTION_ALLOW',
    });
    expect(await labelsOf(session)).toEqual({ env: 'dev' });

    await t.http
      .patch(`/v1/sessions/${session}`)
      .send({ labels: { env: 'prod' } })
      .expect(200);
    expect((await evaluateCall(session, 'write_file')).body).toMatchObject({
      result: 'POLICY_ACTION_DENY',
    });
    // Seeded once: the user's value stays.
    expect(await labelsOf(session)).toEqual({ env: 'prod' });
    expect((await evaluateCall(session, 'read_file')).body.result).toBe('POLICY_ACTION_ALLOW');
  });

  it('should keep a label the session was created with over the initial value', async () => {
    const session = await uploadSession({ env: 'prod' });
    expect((await evaluateCall(session, 'write_file')).body.result).toBe('POLICY_ACTION_DENY');
    expect(await labelsOf(session)).toEqual({ env: 'prod' });
  });

  it('should never run a policy gated on a label the session lacks', async () => {
    const session = await uploadSession();
    await evaluateCall(session, 'read_file').expect(200);
    expect(await stateOf(session)).toEqual({});
    await t.http
      .patch(`/v1/sessions/${session}`)
      .send({ labels: { tier: 'gold' } })
      .expect(200);
    await evaluateCall(session, 'read_file').expect(200);
    await evaluateCall(session, 'read_file').expect(200);
    expect(await stateOf(session)).toEqual({ _policy_tool_call_count: 2 });
  });

  describe('writes held by an ASK', () => {
    async function askingSession(): Promise<string> {
      const session = await uploadSession();
      for (const [name, handler] of [
        ['ask', ASK_OS],
        ['count', MAX_CALLS],
      ]) {
        await t.http
          .post(`/v1/sessions/${session}/policies`)
          .send({ name, type: 'python', handler })
          .expect(200);
      }
      return session;
    }

    /** Starts a held evaluation and answers its approval with `action`. */
    async function answer(
      session: string,
      action: 'accept' | 'decline' | 'cancel',
      check?: (elicitationId: string) => Promise<void>,
    ) {
      const held = evaluateCall(session, 'read_file').then((res) => res);
      const pending = await pendingApproval(clientFor(t), session);
      await check?.(pending);
      await t.http
        .post(`/v1/sessions/${session}/elicitations/${pending}/resolve`)
        .send({ action })
        .expect(202);
      return (await held).body as { result: string };
    }

    it('should drop the state writes on decline and cancel and apply them on accept', async () => {
      const session = await askingSession();
      // The guardrails' ask_timeout (600 s) is the approval's expiry: the policy sets none.
      const expiry = async (id: string) => {
        const row = await t.app.get(ElicitationsRepository).getForSession(session, id);
        const seconds = (row!.expiresAt.getTime() - row!.createdAt.getTime()) / 1000;
        expect(Math.round(seconds)).toBe(600);
      };
      expect((await answer(session, 'decline', expiry)).result).toBe('POLICY_ACTION_DENY');
      expect((await answer(session, 'cancel')).result).toBe('POLICY_ACTION_DENY');
      expect(await stateOf(session)).toEqual({});
      expect((await answer(session, 'accept')).result).toBe('POLICY_ACTION_ALLOW');
      expect(await stateOf(session)).toEqual({ _policy_tool_call_count: 1 });
    });

    it('should apply held label writes only when the approval is accepted', async () => {
      const session = await uploadSession();
      const entity = (await t.app.get(SessionsRepository).getById(session))!;
      const elicitations = t.app.get(ElicitationsService);
      const park = (labels: Record<string, string>) =>
        elicitations.create(
          entity,
          {
            result: 'ASK',
            reason: 'tag: approval required',
            deciding: ['tag'],
            writes: [{ key: 'tagged', action: 'increment' }],
            labels,
            applyWrites: false,
            askTimeoutS: 60,
          },
          { phase: 'tool_call', preview: { name: 'read_file' } },
        );
      const declined = await park({ review: 'declined' });
      await t.http
        .post(`/v1/sessions/${session}/elicitations/${declined.id}/resolve`)
        .send({ action: 'decline' })
        .expect(202);
      expect(await labelsOf(session)).toEqual({});
      const accepted = await park({ review: 'accepted' });
      await t.http
        .post(`/v1/sessions/${session}/elicitations/${accepted.id}/resolve`)
        .send({ action: 'accept' })
        .expect(202);
      expect(await labelsOf(session)).toEqual({ review: 'accepted' });
      expect(await stateOf(session)).toEqual({ tagged: 1 });
    });
  });
});
