import { randomBytes } from 'node:crypto';

import { EventBus } from 'src/common/bus/event-bus';
import { POLICY_CHANGES_CHANNEL } from 'src/modules/policies/policy-cache.service';
import { useTestApp } from 'test/e2e/create-app';
import { clientFor, E2eClient } from 'test/utils/e2e-client';
import { echoSession, evaluateLoadSkill } from 'test/utils/policy-sessions';

const BLOCK_SKILLS = 'omnigent.policies.builtins.safety.block_skills';

/**
 * Two replicas on one PostgreSQL and its LISTEN/NOTIFY bus. B caches the policy lookups; a change
 * made through A reaches B's next evaluation once the change's bus message arrived (the cache's
 * TTL is 30 s, so without the message B would still answer from its stale copy). The probe skill
 * name is unique, so the server-wide policy touches no other test.
 */
describe('policy cache across replicas (PostgreSQL bus)', () => {
  let onA: E2eClient;
  let onB: E2eClient;
  const skill = `probe_${randomBytes(6).toString('hex')}`;

  const a = useTestApp('postgres', {}, { timeout: 60_000 });
  const b = useTestApp('postgres', {}, { timeout: 60_000 });
  beforeAll(async () => {
    onA = clientFor(a);
    onB = clientFor(b);
  }, 60_000);

  /** Resolves with the next policy change B's bus delivers (after B's cache saw it). */
  const nextChangeOnB = () =>
    new Promise<unknown>((resolve) => {
      const off = b.app.get(EventBus).subscribe(POLICY_CHANGES_CHANNEL, (message) => {
        off();
        resolve(message);
      });
    });
  const loadSkill = async (session: string) => ({
    result: await evaluateLoadSkill(onB, session, skill),
  });

  it("should apply a session policy attached on A to B's next evaluation", async () => {
    const session = await echoSession(onA);
    expect((await loadSkill(session)).result).toBe('POLICY_ACTION_ALLOW');
    const change = nextChangeOnB();
    await onA
      .post(`/v1/sessions/${session}/policies`)
      .send({
        name: 'block',
        type: 'python',
        handler: BLOCK_SKILLS,
        factory_params: { blocked: [skill] },
      })
      .expect(200);
    expect(await change).toEqual({ scope: 'session', sessionId: session });
    expect((await loadSkill(session)).result).toBe('POLICY_ACTION_DENY');
  });

  it("should apply a server-wide policy created and deleted on A to B's sessions", async () => {
    const session = await echoSession(onB);
    expect((await loadSkill(session)).result).toBe('POLICY_ACTION_ALLOW');
    let change = nextChangeOnB();
    const created = await onA
      .post('/v1/policies')
      .send({
        name: `block_${skill}`,
        type: 'python',
        handler: BLOCK_SKILLS,
        factory_params: { blocked: [skill] },
      })
      .expect(200);
    try {
      expect(await change).toEqual({ scope: 'default' });
      expect((await loadSkill(session)).result).toBe('POLICY_ACTION_DENY');
    } finally {
      change = nextChangeOnB();
      await onA.delete(`/v1/policies/${created.body.id as string}`).expect(200);
    }
    await change;
    expect((await loadSkill(session)).result).toBe('POLICY_ACTION_ALLOW');
  });
});
