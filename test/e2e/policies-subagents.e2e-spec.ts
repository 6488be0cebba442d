import { DataSource } from 'typeorm';

import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { createTestApp, TestApp } from 'test/e2e/create-app';
import { sessionFactory } from 'test/factories';
import { agentIdByName, clientFor, E2eClient } from 'test/utils/e2e-client';

const BLOCK_SKILLS = 'omnigent.policies.builtins.safety.block_skills';

/**
 * A sub-agent session is evaluated under its root session's policies, then its own; a policy of
 * its own with the same name replaces the root's (spec/policies.md §3).
 */
describe('policies of a sub-agent session (PostgreSQL)', () => {
  let t: TestApp;
  let client: E2eClient;

  beforeAll(async () => {
    t = await createTestApp('postgres');
    client = clientFor(t);
  });
  afterAll(() => t?.close());

  const attach = (session: string, blocked: string[]) =>
    client
      .post(`/v1/sessions/${session}/policies`)
      .send({ name: 'skills', type: 'python', handler: BLOCK_SKILLS, factory_params: { blocked } })
      .expect(200);
  const loadSkill = async (session: string, skill: string) =>
    (
      await client
        .post(`/v1/sessions/${session}/policies/evaluate`)
        .send({
          event: {
            type: 'PHASE_TOOL_CALL',
            data: { name: 'load_skill', arguments: { name: skill } },
          },
        })
        .expect(200)
    ).body.result as string;

  it("should apply the root's policies to a child, the child's own winning by name", async () => {
    const root = (
      await client
        .post('/v1/sessions')
        .send({ agent_id: await agentIdByName(client, 'echo') })
        .expect(201)
    ).body.id as string;
    const rootRow = (await t.app.get(SessionsRepository).getById(root))!;
    const child = sessionFactory({
      ownerId: rootRow.ownerId,
      agentId: rootRow.agentId,
      kind: 'sub_agent',
      parentSessionId: root,
      rootSessionId: root,
    });
    await t.app.get(SessionsRepository).insert(t.app.get(DataSource).manager, child);

    expect(await loadSkill(child.id, 'deploy')).toBe('POLICY_ACTION_ALLOW');
    await attach(root, ['deploy']);
    expect(await loadSkill(child.id, 'deploy')).toBe('POLICY_ACTION_DENY');

    await attach(child.id, ['publish']);
    expect(await loadSkill(child.id, 'deploy')).toBe('POLICY_ACTION_ALLOW');
    expect(await loadSkill(child.id, 'publish')).toBe('POLICY_ACTION_DENY');
    // The root keeps its own.
    expect(await loadSkill(root, 'deploy')).toBe('POLICY_ACTION_DENY');
    expect(await loadSkill(root, 'publish')).toBe('POLICY_ACTION_ALLOW');
  });
});
