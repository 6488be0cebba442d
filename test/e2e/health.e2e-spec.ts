import { createTestApp, useTestApp } from 'test/e2e/create-app';
import { randomSessionId } from 'test/utils/e2e-client';
import { ECHO_ID } from 'test/utils/session-e2e';

const OFFLINE = { runner_online: false, host_online: null, host_version: null };

describe('GET /health', () => {
  let sessionId: string;

  const t = useTestApp('postgres');
  beforeAll(async () => {
    const res = await t.http.post('/v1/sessions').send({ agent_id: ECHO_ID, title: 'health' });
    expect(res.status).toBe(201);
    sessionId = res.body.id;
  });

  it('should answer exactly {status: "ok"}', async () => {
    const res = await t.http.get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('should ignore blank session ids', async () => {
    const res = await t.http.get('/health?session_id=&session_ids=,%20,').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('should report an existing session without a runner as offline, host unknown', async () => {
    const res = await t.http.get(`/health?session_id=${sessionId}`).expect(200);
    expect(res.body).toEqual({ status: 'ok', session: { id: sessionId, ...OFFLINE } });
    expect(res.body.session.runner_online).toBe(false);
    expect(res.body.session.host_online).toBeNull();
  });

  it('should answer session_ids with a key for every id, known or not', async () => {
    const unknown = randomSessionId();
    const res = await t.http.get(`/health?session_ids=${sessionId},${unknown}`).expect(200);
    expect(res.body.status).toBe('ok');
    expect(Object.keys(res.body.sessions).sort()).toEqual([sessionId, unknown].sort());
    expect(res.body.sessions[sessionId]).toEqual(OFFLINE);
    expect(res.body.sessions[unknown]).toEqual({
      runner_online: expect.any(Boolean),
      host_online: null,
      host_version: null,
    });
    expect(res.body.session).toBeUndefined();
  });

  it('should key session_ids by the id as sent, bare or malformed', async () => {
    const bare = sessionId.slice(5);
    const res = await t.http.get(`/health?session_ids=${bare},not-an-id`).expect(200);
    expect(res.body.sessions[bare]).toEqual(OFFLINE);
    expect(res.body.sessions['not-an-id']).toMatchObject({ host_online: null });
  });

  it('should not need credentials in jwt mode', async () => {
    const jwt = await createTestApp('postgres', {
      OMNIGENT_AUTH: 'jwt',
      OMNIGENT_JWT_SECRET: 'h'.repeat(40),
    });
    try {
      const res = await jwt.http.get(`/health?session_id=${randomSessionId()}`).expect(200);
      expect(res.body).toMatchObject({ status: 'ok', session: { host_online: null } });
      expect((await jwt.http.get('/v1/sessions')).status).toBe(401);
    } finally {
      await jwt.close();
    }
  });
});
