import { randomBytes } from 'node:crypto';

import { Response, Test } from 'supertest';
import { DataSource } from 'typeorm';

import { mintToken } from 'src/common/auth/token-signer';
import { TestApp } from 'test/e2e/create-app';

/** The env of a JWT-mode test server: tokens are minted with `mintToken` and this secret. */
export const JWT_ENV: Record<string, string> = {
  OMNIGENT_AUTH: 'jwt',
  OMNIGENT_JWT_SECRET: 'e2e-jwt-secret-'.padEnd(40, 'x'),
};

/** A user id nobody else uses, so lists on the shared PostgreSQL test database hold only ours. */
export function uniqueUser(prefix = 'user'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** A request builder that signs every request as one user (JWT mode) or as `local` (none mode). */
export interface E2eClient {
  readonly userId: string;
  /** The auth headers, for raw `http.get` (SSE). */
  readonly headers: Record<string, string>;
  get(path: string): Test;
  post(path: string): Test;
  patch(path: string): Test;
  delete(path: string): Test;
}

export function clientFor(t: TestApp, userId?: string): E2eClient {
  const token = userId ? mintToken(t.config.auth, { sub: userId, ttlSeconds: 3600 }).token : null;
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const signed = (req: Test) => req.set(headers);
  return {
    userId: userId ?? 'local',
    headers,
    get: (path) => signed(t.http.get(path)),
    post: (path) => signed(t.http.post(path)),
    patch: (path) => signed(t.http.patch(path)),
    delete: (path) => signed(t.http.delete(path)),
  };
}

/** The one error body (spec/README.md §3): flat code/message plus the nested envelope. */
export function expectErrorBody(
  res: Response,
  status: number,
  code: string,
  message?: string | RegExp,
): void {
  // Status and body together, so a failure shows what the server said.
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { code } });
  expect(res.body).toMatchObject({
    code,
    message: expect.any(String),
    error: { code, message: res.body.message },
  });
  if (message !== undefined) {
    expect(res.body.message).toMatch(message);
  }
}

/** A well-formed session id that names no session. */
export function randomSessionId(): string {
  return `conv_${randomBytes(16).toString('hex')}`;
}

/** The agent id of a built-in agent, looked up by name the way upstream's client does. */
export async function agentIdByName(client: E2eClient, name: string): Promise<string> {
  const res = await client.get('/v1/agents?limit=1000').expect(200);
  const agent = (res.body.data as { id: string; name: string }[]).find((a) => a.name === name);
  if (!agent) {
    throw new Error(`no agent named ${name}`);
  }
  return agent.id;
}

/** Rows of a session in the durable event log (what Last-Event-ID replays). */
export async function eventLogCount(t: TestApp, sessionId: string): Promise<number> {
  const rows: { n: string | number }[] = await t.app
    .get(DataSource)
    .query('SELECT count(*) AS n FROM session_event_log WHERE session_id = $1', [sessionId]);
  return Number(rows[0].n);
}
