import { Response } from 'supertest';

import { useTestApp } from 'test/e2e/create-app';
import {
  clientFor,
  E2eClient,
  eventLogCount,
  expectErrorBody,
  JWT_ENV,
  randomSessionId,
  uniqueUser,
} from 'test/utils/e2e-client';
import { ECHO_ID } from 'test/utils/session-e2e';

const BODY_LIMIT = 64 * 1024;
const ALLOWED_EVENT_TYPES = [
  'message',
  'function_call_output',
  'compaction',
  'interrupt',
  'stop_session',
  'retry_session',
  'approval',
];
const USER_MESSAGE = {
  type: 'message',
  data: { role: 'user', content: [{ type: 'input_text', text: 'hello?' }] },
};

type Call = (c: E2eClient, id: string) => Promise<Response>;

/** Every route with a `:session_id`, called with a valid body so only the id can fail. */
const SESSION_ROUTES: [string, Call][] = [
  ['GET /v1/sessions/:id', (c, id) => c.get(`/v1/sessions/${id}`)],
  ['PATCH /v1/sessions/:id', (c, id) => c.patch(`/v1/sessions/${id}`).send({ title: 'mine' })],
  ['DELETE /v1/sessions/:id', (c, id) => c.delete(`/v1/sessions/${id}`)],
  ['POST /v1/sessions/:id/fork', (c, id) => c.post(`/v1/sessions/${id}/fork`).send({})],
  ['GET /v1/sessions/:id/items', (c, id) => c.get(`/v1/sessions/${id}/items`)],
  ['GET /v1/sessions/:id/child_sessions', (c, id) => c.get(`/v1/sessions/${id}/child_sessions`)],
  ['GET /v1/sessions/:id/agent', (c, id) => c.get(`/v1/sessions/${id}/agent`)],
  [
    'POST /v1/sessions/:id/events',
    (c, id) => c.post(`/v1/sessions/${id}/events`).send({ type: 'interrupt', data: {} }),
  ],
  ['GET /v1/sessions/:id/stream', (c, id) => c.get(`/v1/sessions/${id}/stream`)],
];

const MALFORMED_IDS = [
  'not-an-id',
  'conv_xyz',
  `conv_${'g'.repeat(32)}`,
  `ag_${'0'.repeat(32)}`,
  '0'.repeat(31),
  `conv_${'0'.repeat(32)}extra`,
];

describe('session input errors', () => {
  let c: E2eClient;
  let sessionId: string;

  const t = useTestApp('postgres', { OMNIGENT_BODY_LIMIT: String(BODY_LIMIT) });
  beforeAll(async () => {
    c = clientFor(t);
    const res = await c.post('/v1/sessions').send({ agent_id: ECHO_ID, title: 'inputs' });
    expect(res.status).toBe(201);
    sessionId = res.body.id;
  });

  const postEvent = (body: unknown) =>
    c.post(`/v1/sessions/${sessionId}/events`).send(body as object);

  describe('POST /v1/sessions/:id/events', () => {
    it('should answer an unknown event type with 400 naming the allowed types', async () => {
      const res = await postEvent({ type: 'teleport', data: {} });
      expectErrorBody(res, 400, 'invalid_input', /teleport/);
      for (const type of ALLOWED_EVENT_TYPES) {
        expect(res.body.message).toContain(type);
      }
    });

    it('should answer a message with bad data with 400 Invalid data payload', async () => {
      const noContent = await postEvent({ type: 'message', data: { role: 'user' } });
      expectErrorBody(
        noContent,
        400,
        'invalid_input',
        /^Invalid data payload for event type message/,
      );
      const badRole = await postEvent({
        type: 'message',
        data: { role: 'system', content: [{ type: 'input_text', text: 'x' }] },
      });
      expectErrorBody(badRole, 400, 'invalid_input', /^Invalid data payload/);
      const badBlocks = await postEvent({
        type: 'message',
        data: { role: 'user', content: ['x'] },
      });
      expectErrorBody(badBlocks, 400, 'invalid_input', /^Invalid data payload/);
    });

    it('should answer a body without type, or with non-object data, with 422', async () => {
      const res = await postEvent({ data: {} });
      expectErrorBody(res, 422, 'validation_error');
      expect(res.body.detail[0].loc).toEqual(['body', 'type']);
      expectErrorBody(await postEvent({ type: 'message', data: 'hi' }), 422, 'validation_error');
    });

    it('should answer a user message without a runner with 503 and persist nothing', async () => {
      const res = await postEvent(USER_MESSAGE);
      expectErrorBody(res, 503, 'runner_unavailable', /runner/i);

      const items = await c.get(`/v1/sessions/${sessionId}/items`).expect(200);
      expect(items.body).toEqual({
        object: 'list',
        data: [],
        first_id: null,
        last_id: null,
        has_more: false,
      });
      const snapshot = await c.get(`/v1/sessions/${sessionId}`).expect(200);
      expect(snapshot.body).toMatchObject({
        items: [],
        status: 'idle',
        last_task_error: null,
        active_response_id: null,
      });
      expect(await eventLogCount(t, sessionId)).toBe(0);
    });

    it('should answer a client tool result without a runner with 503 too', async () => {
      const res = await postEvent({
        type: 'function_call_output',
        data: { call_id: 'call_1', output: 'done' },
      });
      expectErrorBody(res, 503, 'runner_unavailable');
      expect(await eventLogCount(t, sessionId)).toBe(0);
    });
  });

  describe('request bodies', () => {
    it('should answer a JSON body over OMNIGENT_BODY_LIMIT with 413 payload_too_large', async () => {
      const huge = {
        type: 'message',
        data: { role: 'user', content: [{ type: 'input_text', text: 'x'.repeat(BODY_LIMIT) }] },
      };
      expectErrorBody(await postEvent(huge), 413, 'payload_too_large');
      const create = await c
        .post('/v1/sessions')
        .send({ agent_id: ECHO_ID, title: 'y'.repeat(BODY_LIMIT) });
      expectErrorBody(create, 413, 'payload_too_large');
    });

    // The brief asks for 400 invalid_input (what body-parser gives); style rule 15 and
    // spec/stack.md want 422 json_invalid. Either is a client error in the error envelope.
    it('should answer malformed JSON with a client error, never a 500', async () => {
      for (const path of ['/v1/sessions', `/v1/sessions/${sessionId}/events`]) {
        const res = await c.post(path).set('Content-Type', 'application/json').send('{"type": ');
        if (res.status === 422) {
          expectErrorBody(res, 422, 'validation_error');
          expect(res.body.detail[0]).toMatchObject({ type: 'json_invalid', loc: ['body'] });
        } else {
          expectErrorBody(res, 400, 'invalid_input', /JSON/);
        }
      }
    });

    it('should answer POST /v1/sessions with a text/plain body with 415', async () => {
      const res = await c
        .post('/v1/sessions')
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify({ agent_id: ECHO_ID }));
      expectErrorBody(res, 415, 'unsupported_media_type', /Unsupported Media Type/);
      const none = await c.post('/v1/sessions');
      expectErrorBody(none, 415, 'unsupported_media_type');
    });

    it('should answer a create without agent_id with 422 missing', async () => {
      const res = await c.post('/v1/sessions').send({ title: 'no agent' });
      expectErrorBody(res, 422, 'validation_error');
      expect(res.body.detail).toEqual([
        expect.objectContaining({ loc: ['body', 'agent_id'], type: 'missing' }),
      ]);
    });

    it('should answer an untrusted Origin with 403 and accept omnigent://internal', async () => {
      const evil = await c
        .post('/v1/sessions')
        .set('Origin', 'https://evil.example')
        .send({ agent_id: ECHO_ID });
      expectErrorBody(evil, 403, 'forbidden');
      await c
        .post('/v1/sessions')
        .set('Origin', 'omnigent://internal')
        .send({ agent_id: ECHO_ID })
        .expect(201);
    });
  });

  describe('malformed session ids', () => {
    it.each(SESSION_ROUTES)('should answer %s with 404 not_found', async (_route, call) => {
      for (const id of MALFORMED_IDS) {
        const res = await call(c, encodeURIComponent(id));
        expectErrorBody(res, 404, 'not_found');
      }
      const missing = await call(c, randomSessionId());
      expectErrorBody(missing, 404, 'not_found');
    });
  });
});

describe('sessions of other users', () => {
  let alice: E2eClient;
  let bob: E2eClient;
  let aliceSession: string;

  const t = useTestApp('postgres', JWT_ENV);
  beforeAll(async () => {
    alice = clientFor(t, uniqueUser('alice'));
    bob = clientFor(t, uniqueUser('bob'));
    const res = await alice.post('/v1/sessions').send({ agent_id: ECHO_ID, title: 'private' });
    expect(res.status).toBe(201);
    aliceSession = res.body.id;
  });

  /** The body with the asked-for id blanked out, to compare answers for different ids. */
  const anonymised = (res: Response, id: string) =>
    JSON.parse(JSON.stringify(res.body).split(id).join('<id>'));

  it.each(SESSION_ROUTES)(
    "should answer %s on another user's session exactly like a missing one",
    async (_route, call) => {
      const theirs = await call(bob, aliceSession);
      expectErrorBody(theirs, 404, 'not_found');
      const missingId = randomSessionId();
      const missing = await call(bob, missingId);
      expectErrorBody(missing, 404, 'not_found');
      expect(anonymised(theirs, aliceSession)).toEqual(anonymised(missing, missingId));
    },
  );

  it("should leave the other user's session untouched and out of their list", async () => {
    const list = await bob.get('/v1/sessions?kind=any&limit=1000').expect(200);
    expect(list.body.data.map((s: { id: string }) => s.id)).not.toContain(aliceSession);
    const own = await alice.get(`/v1/sessions/${aliceSession}`).expect(200);
    expect(own.body).toMatchObject({ id: aliceSession, title: 'private', status: 'idle' });
    const aliceList = await alice.get('/v1/sessions').expect(200);
    expect(aliceList.body.data.map((s: { id: string }) => s.id)).toEqual([aliceSession]);
  });

  it('should not let another user create a sub-agent session under it', async () => {
    const child = await bob
      .post('/v1/sessions')
      .send({ agent_id: ECHO_ID, parent_session_id: aliceSession });
    expectErrorBody(child, 404, 'not_found');
  });

  it('should answer requests without a token with 401 unauthorized', async () => {
    const res = await t.http.get('/v1/sessions');
    expectErrorBody(res, 401, 'unauthorized');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expectErrorBody(await t.http.get(`/v1/sessions/${aliceSession}`), 401, 'unauthorized');
    const create = await t.http.post('/v1/sessions').send({ agent_id: ECHO_ID });
    expectErrorBody(create, 401, 'unauthorized');
  });
});
