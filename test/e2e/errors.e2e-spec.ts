import { sign } from 'jsonwebtoken';
import { Response } from 'supertest';

import { useTestApp } from 'test/e2e/create-app';

const SECRET = 'errors-e2e-secret-0123456789abcdef012345';
const BODY_LIMIT = 2048;

/** A JSON object whose serialised form is exactly `bytes` long. */
function jsonOfSize(bytes: number): string {
  const empty = JSON.stringify({ pad: '' });
  return JSON.stringify({ pad: 'x'.repeat(bytes - empty.length) });
}

function expectErrorBody(res: Response, code: string): void {
  expect(res.body).toEqual({
    // 422s add FastAPI's detail list (style rule 15).
    ...(res.status === 422 ? { detail: expect.any(Array) } : {}),
    code,
    message: expect.any(String),
    error: { code, message: res.body.message },
  });
  expect(res.headers['content-type']).toMatch(/application\/json/);
  expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  expect(JSON.stringify(res.body)).not.toMatch(/stack|node_modules|at \w+ \(/);
}

// The JSON parser runs before routing, so these go to a real JSON route (POST /v1/sessions) and to
// a path without a POST route (POST /v1/me, 404 once parsed) alike.
const JSON_PATHS = ['/v1/sessions', '/v1/me'];

describe('errors over HTTP', () => {
  const token = sign({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 }, SECRET);

  const t = useTestApp('postgres', {
    OMNIGENT_AUTH: 'jwt',
    OMNIGENT_JWT_SECRET: SECRET,
    OMNIGENT_BODY_LIMIT: String(BODY_LIMIT),
  });

  const post = (body: string, contentType = 'application/json', path = '/v1/me') =>
    t.http
      .post(path)
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', contentType)
      .send(body);

  it('should answer a well-formed body on a route without POST with 404 not_found', async () => {
    const res = await post('{"a":1}').expect(404);
    expectErrorBody(res, 'not_found');
  });

  it.each(JSON_PATHS)(
    'should answer a malformed JSON body on POST %s with a client error in the error envelope',
    async (path) => {
      const res = await post('{"agent_id": "echo",', 'application/json', path);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.status).not.toBe(404);
      expectErrorBody(res, res.body.code);
    },
  );

  // Style rule 15 and upstream (issue 7): 422 with a json_invalid entry plus our code/message.
  it('should answer malformed JSON with 422 json_invalid and not quote the body', async () => {
    const res = await post('{"secret": "do-not-echo",', 'application/json', '/v1/sessions').expect(
      422,
    );
    expect(res.body).toEqual({
      detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid', input: {} }],
      code: 'validation_error',
      message: 'Request validation failed: JSON decode error',
      error: {
        code: 'validation_error',
        message: 'Request validation failed: JSON decode error',
      },
    });
    expect(JSON.stringify(res.body)).not.toContain('do-not-echo');
  });

  it('should parse +json media types with the same rules', async () => {
    const res = await post('{oops', 'application/merge-patch+json');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.status).not.toBe(404);
  });

  it('should accept a JSON body of exactly OMNIGENT_BODY_LIMIT bytes', async () => {
    const body = jsonOfSize(BODY_LIMIT);
    expect(Buffer.byteLength(body)).toBe(BODY_LIMIT);
    await post(body).expect(404);
  });

  it.each(JSON_PATHS)(
    'should answer a JSON body one byte over OMNIGENT_BODY_LIMIT on POST %s with 413',
    async (path) => {
      const res = await post(jsonOfSize(BODY_LIMIT + 1), 'application/json', path).expect(413);
      expectErrorBody(res, 'payload_too_large');
    },
  );

  it('should answer a much larger JSON body with 413 too', async () => {
    const res = await post(jsonOfSize(256 * 1024)).expect(413);
    expectErrorBody(res, 'payload_too_large');
  });

  it('should answer an unsupported body charset with 415', async () => {
    const res = await post('{"a":1}', 'application/json; charset=latin1').expect(415);
    expectErrorBody(res, 'unsupported_media_type');
  });

  it('should leave a non-JSON body unparsed', async () => {
    const res = await post('not json', 'text/plain').expect(404);
    expectErrorBody(res, 'not_found');
  });

  describe('POST /v1/sessions', () => {
    it('should answer a schema error with 422 validation_error and a FastAPI detail list', async () => {
      const res = await post('{"title": 5}', 'application/json', '/v1/sessions').expect(422);
      expect(res.body).toMatchObject({
        code: 'validation_error',
        error: { code: 'validation_error' },
        detail: expect.arrayContaining([
          expect.objectContaining({ loc: ['body', 'agent_id'], type: 'missing' }),
          expect.objectContaining({ loc: ['body', 'title'], type: 'string_type' }),
        ]),
      });
    });

    it('should answer a JSON body sent as text/plain with 415 and never parse it', async () => {
      const res = await post('{"agent_id": "x"}', 'text/plain', '/v1/sessions').expect(415);
      expectErrorBody(res, 'unsupported_media_type');
    });
  });
});
