import { useTestApp } from 'test/e2e/create-app';
import { clientFor, E2eClient } from 'test/utils/e2e-client';
import { echoSession, evaluateLoadSkill, insertSubAgentSession } from 'test/utils/policy-sessions';

const BLOCK_SKILLS = 'omnigent.policies.builtins.safety.block_skills';

/**
 * A sub-agent session is evaluated under its root session's policies, then its own; a policy of
 * its own with the same name replaces the root's (spec/policies.md §3).
 */
describe('policies of a sub-agent session (PostgreSQL)', () => {
  let client: E2eClient;

  const t = useTestApp('postgres');
  beforeAll(async () => {
    client = clientFor(t);
  });

  const attach = (session: string, blocked: string[]) =>
    client
      .post(`/v1/sessions/${session}/policies`)
      .send({ name: 'skills', type: 'python', handler: BLOCK_SKILLS, factory_params: { blocked } })
      .expect(200);
  const loadSkill = (session: string, skill: string) => evaluateLoadSkill(client, session, skill);

  it("should apply the root's policies to a child, the child's own winning by name", async () => {
    const root = await echoSession(client);
    const child = await insertSubAgentSession(t, root);

    expect(await loadSkill(child, 'deploy')).toBe('POLICY_ACTION_ALLOW');
    await attach(root, ['deploy']);
    expect(await loadSkill(child, 'deploy')).toBe('POLICY_ACTION_DENY');

    await attach(child, ['publish']);
    expect(await loadSkill(child, 'deploy')).toBe('POLICY_ACTION_ALLOW');
    expect(await loadSkill(child, 'publish')).toBe('POLICY_ACTION_DENY');
    // The root keeps its own.
    expect(await loadSkill(root, 'deploy')).toBe('POLICY_ACTION_DENY');
    expect(await loadSkill(root, 'publish')).toBe('POLICY_ACTION_ALLOW');
  });
});
