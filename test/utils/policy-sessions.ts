import { DataSource } from 'typeorm';

import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import type { TestApp } from 'test/e2e/create-app';
import { sessionFactory } from 'test/factories';
import { agentIdByName, E2eClient } from 'test/utils/e2e-client';

/** A new session of the built-in echo agent; returns its id. */
export async function echoSession(client: E2eClient): Promise<string> {
  const res = await client
    .post('/v1/sessions')
    .send({ agent_id: await agentIdByName(client, 'echo') })
    .expect(201);
  return res.body.id as string;
}

/** A sub-agent session of `rootId` (same owner and agent), stored as the runner would; its id. */
export async function insertSubAgentSession(t: TestApp, rootId: string): Promise<string> {
  const sessions = t.app.get(SessionsRepository);
  const root = (await sessions.getById(rootId))!;
  const child = sessionFactory({
    ownerId: root.ownerId,
    agentId: root.agentId,
    kind: 'sub_agent',
    parentSessionId: rootId,
    rootSessionId: rootId,
  });
  await sessions.insert(t.app.get(DataSource).manager, child);
  return child.id as string;
}

/** `POST …/policies/evaluate` of a `load_skill` tool call; the wire verdict. */
export async function evaluateLoadSkill(
  client: E2eClient,
  sessionId: string,
  skill: string,
): Promise<string> {
  const res = await client
    .post(`/v1/sessions/${sessionId}/policies/evaluate`)
    .send({
      event: { type: 'PHASE_TOOL_CALL', data: { name: 'load_skill', arguments: { name: skill } } },
    })
    .expect(200);
  return res.body.result as string;
}

/** The id of the session's one pending approval, once it is listed (up to 5 s). */
export async function pendingApproval(client: E2eClient, sessionId: string): Promise<string> {
  let pending: { elicitation_id: string }[] = [];
  for (let i = 0; i < 50 && pending.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    pending = (await client.get(`/v1/sessions/${sessionId}`)).body.pending_elicitations;
  }
  expect(pending).toHaveLength(1);
  return pending[0].elicitation_id;
}
