import { of } from 'rxjs';
import { Test } from 'supertest';

import { CreateSessionDto } from 'src/modules/sessions/dto/session-request.dto';
import { SessionForkService } from 'src/modules/sessions/session-fork.service';
import { SessionReadsService } from 'src/modules/sessions/session-reads.service';
import { SessionsController } from 'src/modules/sessions/sessions.controller';
import { SessionsService } from 'src/modules/sessions/sessions.service';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import { factory } from 'test/factories';
import { ControllerContext, controllerSetup } from 'test/utils/controller-setup';

const ID = 'conv_0123456789abcdef0123456789abcdef';

/** Every route of the controller, as the auth meta-test sees them. */
const ROUTES: [string, string][] = [
  ['post', '/v1/sessions'],
  ['get', '/v1/sessions'],
  ['get', `/v1/sessions/${ID}`],
  ['patch', `/v1/sessions/${ID}`],
  ['delete', `/v1/sessions/${ID}`],
  ['post', `/v1/sessions/${ID}/fork`],
  ['get', `/v1/sessions/${ID}/items`],
  ['get', `/v1/sessions/${ID}/child_sessions`],
  ['get', `/v1/sessions/${ID}/agent`],
  ['post', `/v1/sessions/${ID}/events`],
  ['get', `/v1/sessions/${ID}/stream`],
];

describe(SessionsController.name, () => {
  let ctx: ControllerContext;
  let user: Record<string, string>;
  const userId = factory.userId();

  beforeAll(async () => {
    ctx = await controllerSetup(SessionsController, [
      SessionEventsService,
      SessionForkService,
      SessionReadsService,
      SessionsService,
      TurnsService,
    ]);
    user = ctx.as(userId);
  });

  afterAll(async () => {
    await ctx.close();
  });

  beforeEach(() => {
    jest.clearAllMocks();
  });

  /** How many calls reached any service since the test began. */
  const serviceCalls = () =>
    [
      ctx.mock(SessionEventsService),
      ctx.mock(SessionForkService),
      ctx.mock(SessionReadsService),
      ctx.mock(SessionsService),
      ctx.mock(TurnsService),
    ]
      .flatMap((mock) => Object.values(mock as unknown as Record<string, jest.Mock>))
      .reduce((count, method) => count + method.mock.calls.length, 0);

  it.each(ROUTES)('%s %s should be an authenticated route', async (method, path) => {
    const res = await (ctx.http as unknown as Record<string, (p: string) => Test>)[method](path);
    expect(res.status).toBe(401);
    expect(serviceCalls()).toBe(0);
  });

  it.each(ROUTES.filter(([, path]) => path.includes(ID)))(
    '%s %s should reject an invalid id with 404 before reaching a service',
    async (method, path) => {
      // An otherwise valid request: the id alone is wrong.
      const body = path.endsWith('/events') ? { type: 'interrupt' } : {};
      const req = (ctx.http as unknown as Record<string, (p: string) => Test>)[method](
        path.replace(ID, 'not-an-id'),
      );
      const res = await req
        .set(user)
        .send(method === 'get' || method === 'delete' ? undefined : body);
      expect({ status: res.status, code: (res.body as { code?: string }).code }).toEqual({
        status: 404,
        code: 'not_found',
      });
      expect(serviceCalls()).toBe(0);
    },
  );

  describe('POST /v1/sessions', () => {
    it('should hand a JSON body to the service, validated', async () => {
      ctx.mock(SessionsService).create.mockResolvedValue({ session_id: 'conv_x' } as never);
      await ctx.http
        .post('/v1/sessions')
        .set(user)
        .send({ agent_id: 'ag_1', title: 'Hello', extra: 'dropped' })
        .expect(201);
      const [auth, body] = ctx.mock(SessionsService).create.mock.calls[0];
      expect(auth.userId).toBe(userId);
      expect(body).toEqual({ kind: 'json', dto: expect.any(CreateSessionDto) });
      expect(body.kind === 'json' && { ...body.dto }).toEqual({ agent_id: 'ag_1', title: 'Hello' });
    });

    it('should reject an invalid JSON body with 422 and never call the service', async () => {
      const res = await ctx.http.post('/v1/sessions').set(user).send({ title: 5 }).expect(422);
      expect(res.body.detail.map((d: { loc: string[] }) => d.loc)).toEqual(
        expect.arrayContaining([['body', 'agent_id']]),
      );
      expect(ctx.mock(SessionsService).create).not.toHaveBeenCalled();
    });

    it('should refuse a body that is neither JSON nor multipart with 415', async () => {
      await ctx.http
        .post('/v1/sessions')
        .set(user)
        .set('Content-Type', 'text/plain')
        .send('{"agent_id": "ag_1"}')
        .expect(415);
      expect(ctx.mock(SessionsService).create).not.toHaveBeenCalled();
    });

    it('should hand a multipart body to the service as metadata and bundle', async () => {
      ctx.mock(SessionsService).create.mockResolvedValue({ session_id: 'conv_x' } as never);
      await ctx.http
        .post('/v1/sessions')
        .set(user)
        .field('metadata', JSON.stringify({ title: 'Up' }))
        .attach('bundle', Buffer.from('tgz bytes'), 'agent.tar.gz')
        .expect(201);
      const [, body] = ctx.mock(SessionsService).create.mock.calls[0];
      expect(body).toMatchObject({ kind: 'bundle', metadata: { title: 'Up' } });
      expect(body.kind === 'bundle' && body.bundle.toString()).toBe('tgz bytes');
    });

    it('should reject a multipart body without its bundle with 422 at body.bundle', async () => {
      const res = await ctx.http.post('/v1/sessions').set(user).field('metadata', '{}').expect(422);
      expect(res.body.detail).toEqual([
        { loc: ['body', 'bundle'], msg: 'Field required', type: 'missing', input: null },
      ]);
    });
  });

  describe('GET /v1/sessions/:session_id', () => {
    it('should pass the normalised id and the query to the service, and send its JSON text as JSON', async () => {
      ctx
        .mock(SessionReadsService)
        .snapshot.mockResolvedValue({ etag: '"vabc"', json: `{"id":"${ID}"}` });
      const bare = ID.slice('conv_'.length);
      const res = await ctx.http
        .get(`/v1/sessions/${bare}?include_items=false`)
        .set(user)
        .expect(200);
      expect(ctx.mock(SessionReadsService).snapshot).toHaveBeenCalledWith(
        expect.anything(),
        ID,
        { include_items: false },
        undefined,
      );
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers.etag).toBe('"vabc"');
      expect(res.body).toEqual({ id: ID });
    });

    it("should answer 304 with the service's ETag and no body when it has no JSON", async () => {
      ctx.mock(SessionReadsService).snapshot.mockResolvedValue({ etag: '"vabc"', json: null });
      const res = await ctx.http
        .get(`/v1/sessions/${ID}`)
        .set(user)
        // Express alone would not answer 304 to a no-cache request: the service decides.
        .set('Cache-Control', 'no-cache')
        .set('If-None-Match', '"vabc"')
        .expect(304);
      expect(ctx.mock(SessionReadsService).snapshot).toHaveBeenCalledWith(
        expect.anything(),
        ID,
        {},
        '"vabc"',
      );
      expect(res.headers.etag).toBe('"vabc"');
      expect(res.text).toBe('');
    });

    it('should reject an invalid query with 422', async () => {
      await ctx.http.get(`/v1/sessions/${ID}?include_items=maybe`).set(user).expect(422);
      expect(ctx.mock(SessionReadsService).snapshot).not.toHaveBeenCalled();
    });
  });

  describe('PATCH /v1/sessions/:session_id', () => {
    it('should reject an unknown field with 422', async () => {
      const res = await ctx.http
        .patch(`/v1/sessions/${ID}`)
        .set(user)
        .send({ colour: 'red' })
        .expect(422);
      expect(res.body.detail[0]).toMatchObject({
        loc: ['body', 'colour'],
        type: 'extra_forbidden',
      });
      expect(ctx.mock(SessionsService).update).not.toHaveBeenCalled();
    });
  });

  describe('POST /v1/sessions/:session_id/events', () => {
    it('should hand the event to the turn and answer 202', async () => {
      ctx.mock(TurnsService).post.mockResolvedValue({ queued: true, item_id: 'msg_1' });
      const event = { type: 'interrupt' };
      const res = await ctx.http
        .post(`/v1/sessions/${ID}/events`)
        .set(user)
        .send(event)
        .expect(202);
      expect(res.body).toEqual({ queued: true, item_id: 'msg_1' });
      expect(ctx.mock(TurnsService).post).toHaveBeenCalledWith(
        expect.objectContaining({ userId }),
        ID,
        expect.objectContaining(event),
      );
    });

    it('should reject an event without a type with 422', async () => {
      await ctx.http.post(`/v1/sessions/${ID}/events`).set(user).send({}).expect(422);
      expect(ctx.mock(TurnsService).post).not.toHaveBeenCalled();
    });
  });

  describe('GET /v1/sessions/:session_id/stream', () => {
    it('should answer with the event stream the stream service builds, given Last-Event-ID', async () => {
      ctx
        .mock(SessionEventsService)
        .openStream.mockResolvedValue(of({ type: 'session.heartbeat', id: '7', data: '{}' }));
      const res = await ctx.http
        .get(`/v1/sessions/${ID}/stream`)
        .set(user)
        .set('Last-Event-ID', '7')
        .expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.text).toContain('event: session.heartbeat\nid: 7\ndata: {}');
      expect(ctx.mock(SessionEventsService).openStream).toHaveBeenCalledWith(
        expect.objectContaining({ userId }),
        ID,
        { lastEventId: '7' },
      );
    });
  });
});
