import { connect } from 'node:net';

import { Response } from 'supertest';

import { useTestApp } from 'test/e2e/create-app';
import { bundleOf, echoAgentConfig } from 'test/utils/agent-bundle';
import {
  clientFor,
  E2eClient,
  expectErrorBody,
  JWT_ENV,
  randomSessionId,
  uniqueUser,
} from 'test/utils/e2e-client';
import { ECHO_ID } from 'test/utils/session-e2e';

const NUL = '\u0000';
const LONE_HIGH = '\ud800';
const LONE_LOW = '\udc00';

/** JSON text whose string values carry a raw `\uXXXX` escape (how a lone surrogate travels). */
function jsonWithEscape(template: Record<string, unknown>, escape: string): string {
  return JSON.stringify(template).replace('@@', escape);
}

function expectUnsafeText(res: Response, loc: (string | number)[]): void {
  expectErrorBody(res, 422, 'validation_error');
  expect(res.body.detail).toContainEqual(
    expect.objectContaining({
      loc,
      type: 'string_unicode',
      msg: 'Text must not contain NUL characters or unpaired UTF-16 surrogates',
    }),
  );
}

function nestedArrays(levels: number): string {
  return '['.repeat(levels) + ']'.repeat(levels);
}

/** Sends raw bytes and resolves with everything the server wrote back before closing. */
function rawRequest(url: string, payload: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(payload));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => {
      socket.destroy();
      resolve(answer);
    });
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer; got ${answer}`)));
  });
}

function parseRaw(answer: string): { status: number; headers: string; body: unknown } {
  const [head, ...rest] = answer.split('\r\n\r\n');
  return {
    status: Number(head.split(' ')[1]),
    headers: head.toLowerCase(),
    body: JSON.parse(rest.join('\r\n\r\n')) as unknown,
  };
}

describe('input hardening (postgres)', () => {
  let alice: E2eClient;
  let sessionId: string;
  let itemId: string;

  const t = useTestApp('postgres', JWT_ENV, { listen: true });
  beforeAll(async () => {
    alice = clientFor(t, uniqueUser('alice'));
    const created = await alice
      .post('/v1/sessions')
      .send({
        agent_id: ECHO_ID,
        title: 'hardening',
        initial_items: [
          {
            type: 'message',
            data: { role: 'user', content: [{ type: 'input_text', text: 'seed' }] },
          },
        ],
      })
      .expect(201);
    sessionId = created.body.id;
    itemId = created.body.items[0].id;
  });

  describe('NUL and lone surrogates (red team: 500)', () => {
    it.each([
      ['a NUL', NUL, '\\u0000'],
      ['a lone high surrogate', LONE_HIGH, '\\ud800'],
      ['a lone low surrogate', LONE_LOW, '\\udc00'],
    ])('should answer %s in a title, label or message text with 422', async (_n, raw, escape) => {
      const create = await alice
        .post('/v1/sessions')
        .set('Content-Type', 'application/json')
        .send(jsonWithEscape({ agent_id: ECHO_ID, title: 'a@@b' }, escape));
      expectUnsafeText(create, ['body', 'title']);

      const label = await alice
        .patch(`/v1/sessions/${sessionId}`)
        .set('Content-Type', 'application/json')
        .send(jsonWithEscape({ labels: { team: 'x@@' } }, escape));
      expectUnsafeText(label, ['body', 'labels', 'team']);

      const labelKey = await alice
        .patch(`/v1/sessions/${sessionId}`)
        .send({ labels: { [`k${raw}`]: 'v' } });
      expectUnsafeText(labelKey, ['body', 'labels', `k${raw}`]);

      // An assistant message is stored without a runner: the red team's direct path to the DB.
      const message = await alice
        .post(`/v1/sessions/${sessionId}/events`)
        .set('Content-Type', 'application/json')
        .send(
          jsonWithEscape(
            {
              type: 'message',
              data: { role: 'assistant', content: [{ type: 'output_text', text: 'hi@@' }] },
            },
            escape,
          ),
        );
      expectUnsafeText(message, ['body', 'data', 'content', 0, 'text']);

      const fork = await alice.post(`/v1/sessions/${sessionId}/fork`).send({ title: `f${raw}` });
      expectUnsafeText(fork, ['body', 'title']);
    });

    it('should answer a NUL in search_query and in cursors with 422 naming the parameter', async () => {
      expectUnsafeText(await alice.get('/v1/sessions?search_query=a%00b'), [
        'query',
        'search_query',
      ]);
      expectUnsafeText(await alice.get('/v1/sessions?after=conv_%00'), ['query', 'after']);
      expectUnsafeText(await alice.get('/v1/sessions?before=%00'), ['query', 'before']);
      expectUnsafeText(await alice.get(`/v1/sessions/${sessionId}/items?after=msg_%00`), [
        'query',
        'after',
      ]);
      expectUnsafeText(await alice.get('/v1/agents?before=%00'), ['query', 'before']);
      expectUnsafeText(await alice.get(`/health?session_id=conv_%00`), ['query', 'session_id']);
    });

    it('should answer a NUL in a query parameter name with 422 too', async () => {
      expectUnsafeText(await alice.get('/v1/sessions?a%00=1'), ['query', `a${NUL}`]);
    });

    it('should answer a NUL inside multipart metadata with 422', async () => {
      const bundle = await bundleOf([{ name: 'config.yaml', content: echoAgentConfig('nul') }]);
      const res = await alice
        .post('/v1/sessions')
        .field('metadata', JSON.stringify({ title: `t${NUL}` }))
        .attach('bundle', bundle, 'agent.tar.gz');
      expectUnsafeText(res, ['body', 'metadata', 'title']);
    });

    // Found by the fuzz suite: class-transformer/class-validator threw on an own `constructor`
    // key inside multipart metadata (the JSON body path strips it in the global pipe).
    it('should treat prototype keys in multipart metadata as the JSON body path does', async () => {
      // The spec names instructions.md: a bundle without it is a 400 naming the file.
      const bundle = await bundleOf([
        { name: 'config.yaml', content: echoAgentConfig('proto') },
        { name: 'instructions.md', content: 'Echo.' },
      ]);
      const metadata =
        '{"title":"proto","labels":{"constructor":"x","k":"v","__proto__":{"admin":"1"}},' +
        '"constructor":{"a":1},"terminal_launch_args":["--x"]}';
      const res = await alice
        .post('/v1/sessions')
        .field('metadata', metadata)
        .attach('bundle', bundle, 'agent.tar.gz');
      expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
      const session = await alice.get(`/v1/sessions/${res.body.session_id}`).expect(200);
      expect(session.body.labels).toEqual({ k: 'v' });
    });

    it('should keep answering 404 for junk in path ids', async () => {
      for (const junk of ['conv_%00', `${sessionId}%00`, '%ED%A0%80']) {
        expectErrorBody(await alice.get(`/v1/sessions/${junk}`), 404, 'not_found');
      }
      expectErrorBody(await alice.get(`/v1/runners/runner_%00/status`), 404, 'not_found');
    });

    it('should still accept emoji (surrogate pairs) and other control characters', async () => {
      const res = await alice
        .patch(`/v1/sessions/${sessionId}`)
        .send({ title: 'ok 👍\t\u0001', labels: { '🔑': '✓' } })
        .expect(200);
      expect(res.body.title).toBe('ok 👍\t\u0001');
      await alice.get(`/v1/sessions?search_query=${encodeURIComponent('👍')}`).expect(200);
      await alice.get(`/v1/sessions/${sessionId}/items?after=${itemId}`).expect(200);
    });
  });

  describe('deep JSON (red team: 500 from a stack overflow)', () => {
    it.each([
      ['POST /v1/sessions', '/v1/sessions', 'post'],
      ['PATCH a session', '', 'patch'],
      ['POST events', '/events', 'post'],
      ['a route without a body (POST /v1/me)', '/v1/me', 'post'],
    ])('should answer 10,000 levels on %s with 422 json_invalid', async (_name, path, method) => {
      const target = path.startsWith('/v1/') ? path : `/v1/sessions/${sessionId}${path}`;
      const started = Date.now();
      const res = await (method === 'patch' ? alice.patch(target) : alice.post(target))
        .set('Content-Type', 'application/json')
        .send(`{"title":${nestedArrays(10_000)}}`);
      expectErrorBody(res, 422, 'validation_error');
      expect(res.body.detail).toEqual([
        {
          loc: ['body'],
          msg: 'JSON nested deeper than 64 levels',
          type: 'json_invalid',
          input: null,
        },
      ]);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('should answer the largest deep body the limit allows with 422, quickly', async () => {
      const half = 512 * 1024 - 16;
      const started = Date.now();
      const res = await alice
        .post(`/v1/sessions/${sessionId}/events`)
        .set('Content-Type', 'application/json')
        .send(nestedArrays(half));
      expectErrorBody(res, 422, 'validation_error');
      expect(res.body.detail[0].type).toBe('json_invalid');
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('should let 64 levels through to ordinary validation and refuse 65', async () => {
      const deep = (levels: number) =>
        JSON.stringify({
          type: 'message',
          data: JSON.parse(`${'{"a":'.repeat(levels - 1)}1${'}'.repeat(levels - 1)}`),
        });
      const ok = await alice
        .post(`/v1/sessions/${sessionId}/events`)
        .set('Content-Type', 'application/json')
        .send(deep(64));
      // 63 levels of data plus the body itself: within the limit, refused by the event's schema.
      expectErrorBody(ok, 400, 'invalid_input', /Invalid data payload/);
      const tooDeep = await alice
        .post(`/v1/sessions/${sessionId}/events`)
        .set('Content-Type', 'application/json')
        .send(deep(65));
      expectErrorBody(tooDeep, 422, 'validation_error');
      expect(tooDeep.body.detail[0].msg).toBe('JSON nested deeper than 64 levels');
    });

    it('should answer deep JSON inside multipart metadata with 422', async () => {
      const bundle = await bundleOf([{ name: 'config.yaml', content: echoAgentConfig('deep') }]);
      const res = await alice
        .post('/v1/sessions')
        .field('metadata', `{"title":${nestedArrays(10_000)}}`)
        .attach('bundle', bundle, 'agent.tar.gz');
      expectErrorBody(res, 422, 'validation_error');
      expect(res.body.detail[0].type).toBe('json_invalid');
    });

    it('should not nest query strings (no qs): bracketed and repeated keys are plain 422s', async () => {
      const nested = await alice.get(`/v1/sessions?${'limit[a]'.repeat(1)}${'[b]'.repeat(500)}=1`);
      expectErrorBody(nested, 422, 'validation_error');
      expect(nested.body.detail[0].type).toBe('extra_forbidden');
      const repeated = await alice.get('/v1/sessions?limit=1&limit=2&order=asc&order=desc');
      expectErrorBody(repeated, 422, 'validation_error');
    });
  });

  describe('422 bodies echo a bounded input (red team: 100 KB in, 100 KB out)', () => {
    it('should echo at most a preview of a 100 KB invalid field', async () => {
      const res = await alice
        .post('/v1/sessions')
        .send({ agent_id: ECHO_ID, title: 7, labels: 'x'.repeat(100_000) });
      expectErrorBody(res, 422, 'validation_error');
      const echoed = res.body.detail.find((d: { loc: string[] }) => d.loc[1] === 'labels');
      expect(echoed.input.length).toBeLessThanOrEqual(257);
      expect(JSON.stringify(res.body).length).toBeLessThan(4 * 1024);
    });

    it('should bound a body with thousands of unknown 1 KB keys', async () => {
      const body = Object.fromEntries(
        Array.from({ length: 500 }, (_, i) => [`${'k'.repeat(1000)}${i}`, 'v'.repeat(1000)]),
      );
      const res = await alice.post(`/v1/sessions/${sessionId}/fork`).send(body);
      expectErrorBody(res, 422, 'validation_error');
      expect(res.body.message).toMatch(/and 499 more/);
      expect(JSON.stringify(res.body).length).toBeLessThan(20 * 1024);
    });
  });

  describe("Node's own HTTP rejections carry the error body (red team: empty body)", () => {
    it('should answer headers over 16 KB with 431 and the error body', async () => {
      const answer = await rawRequest(
        t.url,
        `GET /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      const { status, headers, body } = parseRaw(answer);
      expect(status).toBe(431);
      expect(headers).toContain('content-type: application/json');
      expect(headers).toMatch(/x-request-id: [0-9a-f]{32}/);
      expect(body).toEqual({
        code: 'invalid_input',
        message: 'Request headers are too large',
        error: { code: 'invalid_input', message: 'Request headers are too large' },
      });
    });

    it.each([
      ['a garbage request line', 'NOT HTTP AT ALL\r\n\r\n'],
      ['a bad header name', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n'],
      ['a NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'],
      [
        'conflicting body lengths',
        'POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ],
    ])('should answer %s with 400 and the error body', async (_name, payload) => {
      const { status, body } = parseRaw(await rawRequest(t.url, payload));
      expect(status).toBe(400);
      expect(body).toEqual({
        code: 'invalid_input',
        message: 'Malformed HTTP request',
        error: { code: 'invalid_input', message: 'Malformed HTTP request' },
      });
    });

    it('should answer an undecodable path segment like any malformed id: 404', async () => {
      expectErrorBody(await alice.get('/v1/sessions/%E0%A4%A'), 404, 'not_found');
      expectErrorBody(await alice.get('/v1/sessions/%FF/items'), 404, 'not_found');
    });
  });

  describe('agent bundles (red team: 500 for a long file name)', () => {
    it('should answer a 300-character file name with 400 invalid_input', async () => {
      const bundle = await bundleOf([
        { name: 'config.yaml', content: echoAgentConfig('longname') },
        { name: 'n'.repeat(300), content: 'x' },
      ]);
      const res = await alice
        .post('/v1/sessions')
        .field('metadata', '{}')
        .attach('bundle', bundle, 'agent.tar.gz');
      expectErrorBody(res, 400, 'invalid_input', /^Invalid agent bundle: .*longer than 255 bytes/);
    });
  });

  describe('GET /health?session_id= (red team: an existence oracle)', () => {
    let bob: E2eClient;
    let runnerless: string;

    beforeAll(async () => {
      bob = clientFor(t, uniqueUser('bob'));
      runnerless = sessionId;
    });

    const ask = (client: E2eClient | null, query: string) =>
      (client ? client.get(`/health?${query}`) : t.http.get(`/health?${query}`)).expect(200);

    it('should answer the same for another user’s session and a missing one, without a token', async () => {
      const missing = randomSessionId();
      const [theirs, none] = await Promise.all([
        ask(null, `session_id=${runnerless}`),
        ask(null, `session_id=${missing}`),
      ]);
      expect(theirs.body.session).toEqual({
        id: runnerless,
        runner_online: false,
        host_online: null,
        host_version: null,
      });
      expect({ ...none.body.session, id: runnerless }).toEqual(theirs.body.session);
    });

    it('should answer the same to another user and with a bad token', async () => {
      const missing = randomSessionId();
      const bad = await t.http
        .get(`/health?session_ids=${runnerless},${missing}`)
        .set('Authorization', 'Bearer not.a.token')
        .expect(200);
      const other = await ask(bob, `session_ids=${runnerless},${missing}`);
      for (const res of [bad, other]) {
        expect(res.body.sessions[runnerless]).toEqual(res.body.sessions[missing]);
        expect(res.body.sessions[runnerless]).toEqual({
          runner_online: false,
          host_online: null,
          host_version: null,
        });
      }
    });
  });
});
