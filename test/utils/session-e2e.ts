import { createHash } from 'node:crypto';

import { Response } from 'supertest';

import { declaredProperties, expectValid } from 'test/contract/upstream-schemas';
import { E2eClient } from 'test/utils/e2e-client';

// Checks and builders shared by the session e2e specs (test/e2e/sessions*.e2e-spec.ts).

export type Json = Record<string, unknown>;

const builtinId = (name: string) =>
  `ag_${createHash('sha256').update(`builtin:${name}`).digest('hex').slice(0, 32)}`;
export const ECHO_ID = builtinId('echo');
export const ASSISTANT_ID = builtinId('assistant');

/** Every SessionResponse must validate upstream and carry every field, nulls included. */
export function expectSession(res: Response, status = 200): Json {
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
  expectValid('SessionResponse', res.body);
  expect(Object.keys(res.body).sort()).toEqual(
    expect.arrayContaining(declaredProperties('SessionResponse')),
  );
  return res.body;
}

/** A list page validates as SessionList, each row as SessionListItem with a non-null updated_at. */
export function expectSessionList(res: Response): Json[] {
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
  expectValid('SessionList', res.body);
  const rows = res.body.data as Json[];
  for (const row of rows) {
    expectValid('SessionListItem', row);
    expect(Number.isInteger(row.updated_at)).toBe(true);
    // List rows leave nulls out (spec/api-reference.md §1.1).
    expect(Object.values(row)).not.toContain(null);
  }
  expect(res.body.first_id).toBe(rows[0]?.id ?? null);
  expect(res.body.last_id).toBe(rows[rows.length - 1]?.id ?? null);
  return rows;
}

export const ids = (rows: Json[]) => rows.map((r) => r.id);

/** A fresh user with their own session, so lists on the shared database hold only theirs. */
export async function newSession(client: E2eClient, body: Json = {}): Promise<Json> {
  const res = await client.post('/v1/sessions').send({ agent_id: ECHO_ID, ...body });
  return expectSession(res, 201);
}

/** Posts a compaction through the events route; answers the new item id. */
export async function postCompaction(client: E2eClient, sessionId: unknown, summary: string) {
  const res = await client
    .post(`/v1/sessions/${sessionId}/events`)
    .send({ type: 'compaction', data: { summary, last_item_id: 'msg_1', token_count: 42 } })
    .expect(202);
  expect(res.body).toEqual({ queued: true, item_id: expect.stringMatching(/^cmp_/) });
  return res.body.item_id as string;
}
