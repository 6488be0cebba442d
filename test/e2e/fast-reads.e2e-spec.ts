import { IncomingMessage } from 'node:http';

import { JwtService } from '@nestjs/jwt';
import { Response } from 'supertest';

import { fastFrontOf, fastLaneOf } from 'src/app.factory';
import { RUNNER_TOKEN_AUDIENCE } from 'src/common/auth/jwt-verifier.service';
import { ExpressServerAdapter } from 'src/common/http/express-server.util';
import { mintToken } from 'src/common/auth/token-signer';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { history } from 'bench/fixtures';
import { createTestApp, TestApp } from 'test/e2e/create-app';
import {
  agentIdByName,
  clientFor,
  JWT_ENV,
  randomSessionId,
  uniqueUser,
} from 'test/utils/e2e-client';

const ORIGIN = 'https://app.example';

/** Headers that differ between any two answers. */
const PER_ANSWER = new Set(['date', 'x-request-id']);

interface Probe {
  name: string;
  path: string;
  headers?: Record<string, string>;
  /** The lane answers it (false: it goes on to Nest). */
  lane?: boolean;
  /** The front answers it before Express (default: when the lane does). */
  front?: boolean;
}

/** An answer's status, headers and body bytes, without what differs per answer. */
function comparable(res: Response) {
  const headers = Object.fromEntries(
    Object.entries(res.headers).filter(([name]) => !PER_ANSWER.has(name)),
  );
  // The header lines as sent: names as spelled, in order, values but the per-answer ones.
  const { rawHeaders } = (res as unknown as { res: IncomingMessage }).res;
  const lines = rawHeaders.flatMap((value, i) =>
    i % 2 === 0
      ? []
      : [`${rawHeaders[i - 1]}: ${PER_ANSWER.has(rawHeaders[i - 1].toLowerCase()) ? '…' : value}`],
  );
  return { status: res.status, headers, lines, body: res.text };
}

describe('fast lane of the hot session reads (OMNIGENT_HTTP_FAST_READS)', () => {
  let fast: TestApp;
  let nest: TestApp;
  const alice = uniqueUser('alice');
  const bob = uniqueUser('bob');
  let token: string;
  let session: string;
  let itemIds: string[];
  let listIds: string[];
  let bobSession: string;

  const bearer = (value: string) => ({ Authorization: `Bearer ${value}` });

  beforeAll(async () => {
    // With CORS on, as its headers must be the same too.
    const env = { ...JWT_ENV, OMNIGENT_CORS_ORIGINS: ORIGIN };
    fast = await createTestApp('postgres', env);
    nest = await createTestApp('postgres', { ...env, OMNIGENT_HTTP_FAST_READS: '0' });
    token = mintToken(fast.config.auth, { sub: alice, ttlSeconds: 3600 }).token;
    const client = clientFor(nest, alice);
    const echo = await agentIdByName(client, 'echo');
    const created = await client
      .post('/v1/sessions')
      .send({ agent_id: echo, title: 'seeded', initial_items: history(30) })
      .expect(201);
    session = created.body.id as string;
    for (const title of ['second', 'third']) {
      await client.post('/v1/sessions').send({ agent_id: echo, title }).expect(201);
    }
    const items = await client.get(`/v1/sessions/${session}/items?limit=1000`).expect(200);
    itemIds = (items.body.data as { id: string }[]).map((i) => i.id);
    const list = await client.get('/v1/sessions').expect(200);
    listIds = (list.body.data as { id: string }[]).map((s) => s.id);
    const other = await clientFor(nest, bob).post('/v1/sessions').send({ agent_id: echo });
    bobSession = other.body.id as string;
  });

  afterAll(async () => {
    await fast?.close();
    await nest?.close();
  });

  /** Sends the probe to both apps; they must answer alike, and the lane must have served it. */
  async function expectSameAnswer(probe: Probe): Promise<Response> {
    const lane = fastLaneOf(fast.app);
    const front = fastFrontOf(fast.app);
    const before = lane?.served ?? 0;
    const frontBefore = front?.served ?? 0;
    const headers = probe.headers ?? bearer(token);
    const viaLane = await fast.http.get(probe.path).set(headers);
    const viaNest = await nest.http.get(probe.path).set(headers);
    expect({ probe: probe.name, ...comparable(viaLane) }).toEqual({
      probe: probe.name,
      ...comparable(viaNest),
    });
    expect({
      probe: probe.name,
      served: (lane?.served ?? 0) - before,
      front: (front?.served ?? 0) - frontBefore,
    }).toEqual({
      probe: probe.name,
      served: probe.lane === false ? 0 : 1,
      front: (probe.front ?? probe.lane !== false) ? 1 : 0,
    });
    return viaLane;
  }

  it('should be mounted only when switched on', () => {
    expect(fastLaneOf(fast.app)).toBeDefined();
    expect(fastLaneOf(nest.app)).toBeUndefined();
    expect(fastFrontOf(fast.app)).toBeDefined();
    expect(fastFrontOf(nest.app)).toBeUndefined();
  });

  it("should serve from a server whose requests are born with Express's prototypes", () => {
    // Lane on or off: ExpressServerAdapter (issue 12, PERFORMANCE.md "Tenth pass").
    expect(fast.app.getHttpAdapter()).toBeInstanceOf(ExpressServerAdapter);
    expect(nest.app.getHttpAdapter()).toBeInstanceOf(ExpressServerAdapter);
  });

  it('should echo a safe X-Request-Id and mint one otherwise, as Nest does', async () => {
    const path = `/v1/sessions/${session}/items?limit=2`;
    for (const app of [fast, nest]) {
      const given = await app.http.get(path).set({ ...bearer(token), 'X-Request-Id': 'req-42.a' });
      expect(given.headers['x-request-id']).toBe('req-42.a');
      const unsafe = await app.http.get(path).set({ ...bearer(token), 'X-Request-Id': 'a b' });
      expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('should answer snapshots as Nest does', async () => {
    const probes: Probe[] = [
      { name: 'snapshot', path: `/v1/sessions/${session}` },
      { name: 'no items', path: `/v1/sessions/${session}?include_items=false` },
      { name: 'no liveness', path: `/v1/sessions/${session}?include_liveness=false` },
      {
        name: 'both off',
        path: `/v1/sessions/${session}?include_items=0&include_liveness=false&refresh_state=true`,
      },
      { name: 'bare hex id', path: `/v1/sessions/${session.slice('conv_'.length)}` },
    ];
    for (const probe of probes) {
      const res = await expectSameAnswer(probe);
      expect(res.status).toBe(200);
    }
  });

  it('should answer item pages as Nest does', async () => {
    const probes: Probe[] = [
      { name: 'first page', path: `/v1/sessions/${session}/items` },
      { name: 'limit 5', path: `/v1/sessions/${session}/items?limit=5` },
      { name: 'after', path: `/v1/sessions/${session}/items?limit=5&after=${itemIds[4]}` },
      { name: 'before', path: `/v1/sessions/${session}/items?limit=5&before=${itemIds[20]}` },
      { name: 'desc', path: `/v1/sessions/${session}/items?order=desc&limit=7` },
      {
        name: 'desc after',
        path: `/v1/sessions/${session}/items?order=desc&after=${itemIds[10]}`,
      },
      { name: 'unknown cursor', path: `/v1/sessions/${session}/items?after=item_nope` },
    ];
    for (const probe of probes) {
      await expectSameAnswer(probe);
    }
  });

  it('should answer session lists as Nest does', async () => {
    const probes: Probe[] = [
      { name: 'list', path: '/v1/sessions' },
      { name: 'limit 2', path: '/v1/sessions?limit=2' },
      { name: 'after', path: `/v1/sessions?limit=1&after=${listIds[0]}` },
      { name: 'before', path: `/v1/sessions?before=${listIds[2]}` },
      { name: 'asc by update', path: '/v1/sessions?order=asc&sort_by=updated_at' },
      { name: 'filters', path: '/v1/sessions?agent_name=echo&include_archived=true&kind=any' },
      { name: 'unknown cursor', path: '/v1/sessions?after=conv_nope' },
      { name: 'search', path: '/v1/sessions?search_query=seeded', lane: false },
    ];
    for (const probe of probes) {
      await expectSameAnswer(probe);
    }
  });

  it('should refuse bad queries, ids and sessions as Nest does', async () => {
    const probes: Probe[] = [
      { name: 'bad boolean', path: `/v1/sessions/${session}?include_items=maybe` },
      { name: 'unknown parameter', path: `/v1/sessions/${session}?limit=1` },
      { name: 'bad limit', path: `/v1/sessions/${session}/items?limit=0` },
      { name: 'bad order', path: '/v1/sessions?order=sideways&limit=abc' },
      { name: 'repeated parameter', path: '/v1/sessions?limit=1&limit=2' },
      {
        name: 'NUL in query (the input guard)',
        path: '/v1/sessions?agent_name=a%00b',
        lane: false,
      },
      { name: 'malformed id', path: '/v1/sessions/conv_0123' },
      { name: 'malformed id, bad query', path: '/v1/sessions/conv_0123?include_items=x' },
      { name: 'no such session', path: `/v1/sessions/${randomSessionId()}` },
      { name: "another user's session", path: `/v1/sessions/${bobSession}` },
      { name: "another user's items", path: `/v1/sessions/${bobSession}/items` },
    ];
    for (const probe of probes) {
      const res = await expectSameAnswer(probe);
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
  });

  it('should refuse missing, invalid, expired and runner tokens as Nest does', async () => {
    const secret = fast.config.auth.jwtSecret as string;
    const now = Math.floor(Date.now() / 1000);
    const expired = new JwtService().sign(
      { sub: alice, iat: now - 7200, exp: now - 3600 },
      { secret, algorithm: 'HS256' },
    );
    const runner = mintToken(fast.config.auth, {
      sub: alice,
      ttlSeconds: 600,
      audience: RUNNER_TOKEN_AUDIENCE,
      extra: { typ: 'runner', runner_id: 'runner_0123456789abcdef0123456789abcdef' },
    }).token;
    const probes: Probe[] = [
      { name: 'no token', path: `/v1/sessions/${session}`, headers: {} },
      { name: 'garbage token', path: '/v1/sessions', headers: bearer('not.a.jwt') },
      { name: 'expired token', path: `/v1/sessions/${session}/items`, headers: bearer(expired) },
      { name: 'runner token', path: `/v1/sessions/${session}`, headers: bearer(runner) },
      { name: 'bad token, bad query', path: '/v1/sessions?limit=x', headers: {} },
    ];
    for (const probe of probes) {
      const res = await expectSameAnswer(probe);
      expect([401, 403]).toContain(res.status);
    }
  });

  it('should answer 304 to a matching If-None-Match as Nest does', async () => {
    for (const path of [
      `/v1/sessions/${session}`,
      `/v1/sessions/${session}/items`,
      '/v1/sessions',
    ]) {
      const first = await fast.http.get(path).set(bearer(token)).expect(200);
      const etag = first.headers.etag as string;
      const res = await expectSameAnswer({
        name: `304 ${path}`,
        path,
        headers: { ...bearer(token), 'If-None-Match': etag },
      });
      expect(res.status).toBe(304);
      // As fetch() sends it with If-None-Match: Express's own freshness check then says no.
      const revalidate = await expectSameAnswer({
        name: `304, no-cache ${path}`,
        path,
        headers: { ...bearer(token), 'If-None-Match': etag, 'Cache-Control': 'no-cache' },
      });
      expect(revalidate.status).toBe(304);
      await expectSameAnswer({
        name: `stale ${path}`,
        path,
        headers: { ...bearer(token), 'If-None-Match': '"0-stale"' },
      });
    }
  });

  it('should answer cross-origin reads as Nest does', async () => {
    for (const origin of [ORIGIN, 'https://evil.example']) {
      const res = await expectSameAnswer({
        name: `origin ${origin}`,
        path: `/v1/sessions/${session}/items?limit=2`,
        headers: { ...bearer(token), Origin: origin },
      });
      expect(res.status).toBe(200);
    }
  });

  it('should leave other methods and paths to Nest', async () => {
    const probes: Probe[] = [
      { name: 'trailing slash', path: '/v1/sessions/', lane: false },
      { name: 'upper case', path: `/V1/sessions/${session}`, lane: false },
      { name: 'encoded id', path: `/v1/sessions/${session}%41`, lane: false },
      { name: 'agent', path: `/v1/sessions/${session}/agent`, lane: false },
    ];
    for (const probe of probes) {
      await expectSameAnswer(probe);
    }
    const lane = fastLaneOf(fast.app);
    const front = fastFrontOf(fast.app);
    const before = lane?.served;
    const frontBefore = front?.served;
    await fast.http.head(`/v1/sessions/${session}`).set(bearer(token)).expect(200);
    expect(lane?.served).toBe(before);
    // A GET with a body goes through Express (its JSON parser, the input guard), then the lane.
    const withBody = await fast.http
      .get(`/v1/sessions/${session}/items?limit=2`)
      .set(bearer(token))
      .send({ note: 'ignored' });
    const viaNest = await nest.http
      .get(`/v1/sessions/${session}/items?limit=2`)
      .set(bearer(token))
      .send({ note: 'ignored' });
    expect(comparable(withBody)).toEqual(comparable(viaNest));
    expect(withBody.status).toBe(200);
    expect(lane?.served).toBe((before ?? 0) + 1);
    expect(front?.served).toBe(frontBefore);
  });

  it('should answer posted events as Nest does, and leave keyed posts to Nest', async () => {
    const lane = fastLaneOf(fast.app);
    const post = async (
      name: string,
      path: string,
      body: unknown,
      headers: Record<string, string> = bearer(token),
    ) => {
      const viaLane = await fast.http
        .post(path)
        .set(headers)
        .send(body as object);
      const viaNest = await nest.http
        .post(path)
        .set(headers)
        .send(body as object);
      expect({ name, ...comparable(viaLane) }).toEqual({ name, ...comparable(viaNest) });
      return viaLane;
    };
    const events = `/v1/sessions/${session}/events`;
    const user = { role: 'user', content: [{ type: 'input_text', text: 'hi' }] };
    const before = lane?.served ?? 0;
    const answers = [
      // No runner serves the session: the message is refused with 503, as Nest refuses it.
      await post('message', events, { type: 'message', data: user }),
      await post('interrupt', events, { type: 'interrupt' }),
      await post('no type', events, { data: user }),
      await post('unknown type', events, { type: 'dance' }),
      await post('unknown field', events, { type: 'interrupt', colour: 'red' }),
      await post('not an object', events, [1, 2]),
      await post("bob's session", `/v1/sessions/${bobSession}/events`, { type: 'interrupt' }),
      await post('no session', `/v1/sessions/${randomSessionId()}/events`, { type: 'interrupt' }),
      await post('bad id', '/v1/sessions/nope/events', { type: 'interrupt' }),
      await post('no token', events, { type: 'interrupt' }, {}),
    ];
    expect(answers.map((res) => res.status)).toEqual([
      503, 202, 422, 400, 202, 422, 404, 404, 404, 401,
    ]);
    expect((lane?.served ?? 0) - before).toBe(answers.length);
    // The idempotency interceptor's posts: stored and replayed by Nest.
    const keyed = { ...bearer(token), 'Idempotency-Key': `k-${randomSessionId()}` };
    const first = await fast.http.post(events).set(keyed).send({ type: 'interrupt' }).expect(202);
    const again = await fast.http.post(events).set(keyed).send({ type: 'interrupt' }).expect(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((lane?.served ?? 0) - before).toBe(answers.length);
  });

  it('should count its answers under the route template, as Nest routes are', async () => {
    const text = await fast.app.get(MetricsService).registry.metrics();
    expect(text).toContain(
      'omnigent_http_requests_total{method="GET",route="/v1/sessions/:session_id",status="200"}',
    );
    expect(text).toContain(
      'omnigent_http_requests_total{method="GET",route="/v1/sessions/:session_id/items",status="304"}',
    );
    expect(text).toContain(
      'omnigent_http_requests_total{method="GET",route="/v1/sessions",status="422"}',
    );
  });
});

describe('fast lane in local mode (OMNIGENT_AUTH=none)', () => {
  let fast: TestApp;
  let nest: TestApp;
  let session: string;

  beforeAll(async () => {
    fast = await createTestApp('postgres');
    nest = await createTestApp('postgres', { OMNIGENT_HTTP_FAST_READS: '0' });
    const client = clientFor(nest);
    const echo = await agentIdByName(client, 'echo');
    const created = await client.post('/v1/sessions').send({ agent_id: echo }).expect(201);
    session = created.body.id as string;
  });

  afterAll(async () => {
    await fast?.close();
    await nest?.close();
  });

  it('should trust loopback callers and refuse other sites and hosts as Nest does', async () => {
    const probes: [Record<string, string>, number][] = [
      [{}, 200],
      [{ Origin: 'http://localhost:5173' }, 200],
      [{ Origin: 'https://evil.example' }, 403],
      [{ Host: 'rebound.example' }, 403],
    ];
    for (const [headers, status] of probes) {
      const lane = fastLaneOf(fast.app);
      const front = fastFrontOf(fast.app);
      const before = lane?.served ?? 0;
      const frontBefore = front?.served ?? 0;
      const viaLane = await fast.http.get(`/v1/sessions/${session}`).set(headers);
      const viaNest = await nest.http.get(`/v1/sessions/${session}`).set(headers);
      expect(comparable(viaLane)).toEqual(comparable(viaNest));
      expect(viaLane.status).toBe(status);
      expect(lane?.served).toBe(before + 1);
      expect(front?.served).toBe(frontBefore + 1);
    }
  });
});
