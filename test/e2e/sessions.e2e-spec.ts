import { createHash } from 'node:crypto';
import http from 'node:http';

import { Response } from 'supertest';

import { declaredProperties, expectStreamEvent, expectValid } from 'test/contract/upstream-schemas';
import { createTestApp, TestApp } from 'test/e2e/create-app';
import {
  clientFor,
  E2eClient,
  expectErrorBody,
  JWT_ENV,
  randomSessionId,
  uniqueUser,
} from 'test/utils/e2e-client';
import { AMBIENT_TYPES } from 'test/utils/sse-client';

type Json = Record<string, unknown>;

const builtinId = (name: string) =>
  `ag_${createHash('sha256').update(`builtin:${name}`).digest('hex').slice(0, 32)}`;
const ECHO_ID = builtinId('echo');
const ASSISTANT_ID = builtinId('assistant');
const ECHO_TOOLS = ['list_dir', 'read_file', 'write_file', 'edit_file', 'shell'];

/** Every SessionResponse must validate upstream and carry every field, nulls included. */
function expectSession(res: Response, status = 200): Json {
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
  expectValid('SessionResponse', res.body);
  expect(Object.keys(res.body).sort()).toEqual(
    expect.arrayContaining(declaredProperties('SessionResponse')),
  );
  return res.body;
}

/** A list page validates as SessionList, each row as SessionListItem with a non-null updated_at. */
function expectSessionList(res: Response): Json[] {
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

const ids = (rows: Json[]) => rows.map((r) => r.id);

/** Reads SSE frames (connect-time nudges left out) until `count` arrived, then hangs up; `onFirst` runs once the stream is live. */
function readFrames(
  url: string,
  headers: Record<string, string>,
  count: number,
  onFirst: () => void,
): Promise<Json[]> {
  return new Promise((resolve, reject) => {
    const frames: Json[] = [];
    const req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (!data || data === 'data: [DONE]') {
            continue;
          }
          const parsed = JSON.parse(data.slice(6)) as Json;
          // The connect-time nudges (api-reference §4.3) come beside the live events.
          if (parsed.type !== 'session.heartbeat' && AMBIENT_TYPES.has(parsed.type as string)) {
            continue;
          }
          frames.push(parsed);
          if (frames.length === 1) {
            onFirst();
          }
          if (frames.length >= count) {
            req.destroy();
            resolve(frames);
            return;
          }
        }
      });
    });
    req.on('error', (error) => (frames.length >= count ? undefined : reject(error)));
    req.setTimeout(10_000, () => req.destroy(new Error(`only ${frames.length} frames arrived`)));
  });
}

describe('sessions', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp('postgres', JWT_ENV);
    await t.listen();
  });
  afterAll(() => t?.close());

  /** A fresh user with their own session, so lists on the shared database hold only theirs. */
  async function newSession(client: E2eClient, body: Json = {}): Promise<Json> {
    const res = await client.post('/v1/sessions').send({ agent_id: ECHO_ID, ...body });
    return expectSession(res, 201);
  }

  async function postCompaction(client: E2eClient, sessionId: unknown, summary: string) {
    const res = await client
      .post(`/v1/sessions/${sessionId}/events`)
      .send({ type: 'compaction', data: { summary, last_item_id: 'msg_1', token_count: 42 } })
      .expect(202);
    expect(res.body).toEqual({ queued: true, item_id: expect.stringMatching(/^cmp_/) });
    return res.body.item_id as string;
  }

  describe('create', () => {
    const client = () => clientFor(t, uniqueUser('create'));

    it('should create a session on the echo agent and answer the full SessionResponse', async () => {
      const c = client();
      const session = await newSession(c, { title: 'Create me', labels: { team: 'e2e' } });
      expect(session).toMatchObject({
        id: expect.stringMatching(/^conv_[0-9a-f]{32}$/),
        agent_id: ECHO_ID,
        agent_name: 'echo',
        status: 'idle',
        title: 'Create me',
        labels: { team: 'e2e' },
        items: [],
        kind: 'default',
        parent_session_id: null,
        runner_id: null,
        runner_online: false,
        host_online: null,
        archived: false,
        harness: 'echo',
        permission_level: 4,
      });
      expect(session.root_conversation_id).toBe(session.id);
      expect(Number.isInteger(session.created_at)).toBe(true);
      expect(Math.abs((session.created_at as number) - Date.now() / 1000)).toBeLessThan(60);
    });

    it("should accept upstream's bare 32-hex agent id", async () => {
      const session = await newSession(client(), { agent_id: ECHO_ID.slice(3) });
      expect(session.agent_id).toBe(ECHO_ID);
    });

    it('should answer an unknown agent id with 404 not_found', async () => {
      const res = await client()
        .post('/v1/sessions')
        .send({ agent_id: `ag_${'0'.repeat(32)}` });
      expectErrorBody(res, 404, 'not_found', /Agent not found/);
    });

    it('should store initial items as seed history when no runner is bound', async () => {
      const session = await newSession(client(), {
        initial_items: [
          {
            type: 'message',
            data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
          },
        ],
      });
      expect(session.items).toEqual([
        expect.objectContaining({
          type: 'message',
          response_id: 'seed',
          data: { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
        }),
      ]);
    });
  });

  describe('get', () => {
    let c: E2eClient;
    let id: string;

    beforeAll(async () => {
      c = clientFor(t, uniqueUser('get'));
      id = (await newSession(c, { title: 'Snapshot' })).id as string;
      await postCompaction(c, id, 'snapshot summary');
    });

    it('should answer every field, nulls included, to be revalidated (private, no-cache)', async () => {
      const res = await c.get(`/v1/sessions/${id}`);
      const session = expectSession(res);
      expect(res.headers['cache-control']).toBe('private, no-cache');
      expect(session).toMatchObject({ id, title: 'Snapshot', runner_online: false });
      expect(session.items).toHaveLength(1);
    });

    it('should answer 304 without a body to If-None-Match of its strong ETag, until it changes', async () => {
      const first = await c.get(`/v1/sessions/${id}`).expect(200);
      const etag = first.headers.etag as string;
      expect(etag).toMatch(/^"[^"]+"$/);

      const same = await c.get(`/v1/sessions/${id}`).set('If-None-Match', etag);
      expect(same.status).toBe(304);
      expect(same.text ?? '').toBe('');

      await c.patch(`/v1/sessions/${id}`).send({ title: 'Snapshot, renamed' }).expect(200);
      const changed = await c.get(`/v1/sessions/${id}`).set('If-None-Match', etag);
      expect(changed.status).toBe(200);
      expect(changed.headers.etag).not.toBe(etag);
      expect(expectSession(changed).title).toBe('Snapshot, renamed');
    });

    it('should leave items out with include_items=false', async () => {
      const session = expectSession(await c.get(`/v1/sessions/${id}?include_items=false`));
      expect(session.items).toEqual([]);
    });

    it('should report runner_online null with include_liveness=false', async () => {
      const res = await c.get(`/v1/sessions/${id}?include_liveness=false`);
      const session = expectSession(res);
      expect(session.runner_online).toBeNull();
      expect(session.host_online).toBeNull();
    });

    it('should accept the bare 32-hex form of the session id', async () => {
      const session = expectSession(await c.get(`/v1/sessions/${id.slice(5)}`));
      expect(session.id).toBe(id);
    });

    it('should answer a well-formed unknown id with 404 not_found', async () => {
      const missing = randomSessionId();
      expectErrorBody(await c.get(`/v1/sessions/${missing}`), 404, 'not_found');
    });
  });

  describe('list', () => {
    let c: E2eClient;
    let s: string[];
    let assistantSession: string;

    beforeAll(async () => {
      c = clientFor(t, uniqueUser('list'));
      s = [];
      for (const title of ['one alpha', 'two zebrafish tank', 'three', 'four', 'five']) {
        s.push((await newSession(c, { title })).id as string);
      }
      assistantSession = (await newSession(c, { agent_id: ASSISTANT_ID, title: 'assistant one' }))
        .id as string;
    });

    const list = (query = '') => c.get(`/v1/sessions${query}`);

    it('should list newest first with the list envelope', async () => {
      const rows = expectSessionList(await list());
      expect(ids(rows)).toEqual([assistantSession, ...[...s].reverse()]);
      expect(rows[1]).toMatchObject({
        id: s[4],
        agent_id: ECHO_ID,
        agent_name: 'echo',
        status: 'idle',
        title: 'five',
        archived: false,
        owner: c.userId,
      });
    });

    it('should page forward with limit/after and has_more', async () => {
      const echo = `&agent_id=${ECHO_ID}`;
      const first = await list(`?limit=2${echo}`);
      expect(ids(expectSessionList(first))).toEqual([s[4], s[3]]);
      expect(first.body).toMatchObject({ has_more: true, first_id: s[4], last_id: s[3] });

      const second = await list(`?limit=2&after=${first.body.last_id}${echo}`);
      expect(ids(expectSessionList(second))).toEqual([s[2], s[1]]);
      expect(second.body.has_more).toBe(true);

      const third = await list(`?limit=2&after=${second.body.last_id}${echo}`);
      expect(ids(expectSessionList(third))).toEqual([s[0]]);
      expect(third.body).toMatchObject({ has_more: false, first_id: s[0], last_id: s[0] });
    });

    // Cursors compare against timestamptz (microseconds on PostgreSQL): a cursor row read back at
    // millisecond precision would come back on the next page, or hide its neighbours.
    it('should page forward in ascending order without repeating the cursor row', async () => {
      const echo = `&agent_id=${ECHO_ID}`;
      const seen: unknown[] = [];
      let after = '';
      for (let page = 0; page < 5; page += 1) {
        const res = await list(`?limit=2&order=asc${after}${echo}`);
        seen.push(...ids(expectSessionList(res)));
        if (!res.body.has_more) {
          break;
        }
        after = `&after=${res.body.last_id}`;
      }
      expect(seen).toEqual(s);
    });

    it('should page backward with before, still in sort order', async () => {
      const res = await list(`?limit=3&before=${s[1]}&agent_id=${ECHO_ID}`);
      expect(ids(expectSessionList(res))).toEqual([s[4], s[3], s[2]]);
      const asc = await list(`?limit=3&order=asc&before=${s[3]}&agent_id=${ECHO_ID}`);
      expect(ids(expectSessionList(asc))).toEqual([s[0], s[1], s[2]]);
    });

    it('should sort ascending with order=asc', async () => {
      const rows = expectSessionList(await list(`?order=asc&agent_id=${ECHO_ID}`));
      expect(ids(rows)).toEqual(s);
    });

    it('should answer an unknown cursor with 400 and a bad order with 422', async () => {
      expectErrorBody(await list(`?after=${randomSessionId()}`), 400, 'invalid_input');
      // Another user's session is no cursor of ours.
      const foreign = await newSession(clientFor(t, uniqueUser('list-other')));
      expectErrorBody(await list(`?after=${foreign.id}`), 400, 'invalid_input');
      // The last row as cursor is the end of the list, not an unknown cursor.
      expect(ids(expectSessionList(await list(`?order=asc&after=${assistantSession}`)))).toEqual(
        [],
      );
      const res = await list('?order=sideways');
      expectErrorBody(res, 422, 'validation_error');
      expect(res.body.detail[0].loc).toEqual(['query', 'order']);
      expectErrorBody(await list('?limit=0'), 422, 'validation_error');
      expectErrorBody(await list('?limit=1001'), 422, 'validation_error');
    });

    it('should filter by agent_id, in our and in the bare form', async () => {
      const assistant = expectSessionList(await list(`?agent_id=${ASSISTANT_ID}`));
      expect(ids(assistant)).toEqual([assistantSession]);
      const bare = expectSessionList(await list(`?agent_id=${ECHO_ID.slice(3)}`));
      expect(ids(bare)).toEqual([...s].reverse());
      const byName = expectSessionList(await list('?agent_name=assistant'));
      expect(ids(byName)).toEqual([assistantSession]);
    });

    it('should match search_query against a title word prefix', async () => {
      expect(ids(expectSessionList(await list('?search_query=zebra')))).toEqual([s[1]]);
      expect(ids(expectSessionList(await list('?search_query=ZEBRAFISH%20tank')))).toEqual([s[1]]);
      expect(expectSessionList(await list('?search_query=ebrafish'))).toEqual([]);
    });

    it('should sort by updated_at after a PATCH', async () => {
      expectSession(await c.patch(`/v1/sessions/${s[0]}`).send({ title: 'one alpha, renamed' }));
      const rows = expectSessionList(await list(`?sort_by=updated_at&agent_id=${ECHO_ID}`));
      expect(ids(rows)).toEqual([s[0], s[4], s[3], s[2], s[1]]);
      const byCreation = expectSessionList(await list(`?agent_id=${ECHO_ID}`));
      expect(ids(byCreation)).toEqual([...s].reverse());
    });

    it('should page by updated_at too', async () => {
      const first = await list(`?sort_by=updated_at&limit=2&agent_id=${ECHO_ID}`);
      expect(ids(expectSessionList(first))).toEqual([s[0], s[4]]);
      const next = await list(
        `?sort_by=updated_at&limit=2&after=${first.body.last_id}&agent_id=${ECHO_ID}`,
      );
      expect(ids(expectSessionList(next))).toEqual([s[3], s[2]]);
    });

    it('should hide archived sessions unless include_archived=true', async () => {
      const archived = expectSession(
        await c.patch(`/v1/sessions/${s[2]}`).send({ archived: true }),
      );
      expect(archived.archived).toBe(true);
      expect(ids(expectSessionList(await list(`?agent_id=${ECHO_ID}`)))).not.toContain(s[2]);
      const all = expectSessionList(await list(`?include_archived=true&agent_id=${ECHO_ID}`));
      expect(all.find((r) => r.id === s[2])).toMatchObject({ archived: true });
      expectSession(await c.patch(`/v1/sessions/${s[2]}`).send({ archived: false }));
      expect(ids(expectSessionList(await list(`?agent_id=${ECHO_ID}`)))).toContain(s[2]);
    });

    it('should list sub-agent sessions only with kind=sub_agent (or any)', async () => {
      const child = await newSession(c, { parent_session_id: s[4], title: 'task:child' });
      expect(child).toMatchObject({ kind: 'sub_agent', parent_session_id: s[4] });
      expect(ids(expectSessionList(await list()))).not.toContain(child.id);
      const subs = expectSessionList(await list('?kind=sub_agent'));
      expect(ids(subs)).toEqual([child.id]);
      expect(subs[0]).toMatchObject({ parent_session_id: s[4] });
      const any = expectSessionList(await list('?kind=any&limit=100'));
      expect(ids(any)).toEqual(expect.arrayContaining([child.id, ...s]));
    });
  });

  describe('list search in message text', () => {
    it('should find a session by its message text and add a search_snippet', async () => {
      const c = clientFor(t, uniqueUser('search'));
      const text = 'the quokka jumped over the fence';
      const hit = await newSession(c, {
        title: 'plain title',
        initial_items: [
          { type: 'message', data: { role: 'user', content: [{ type: 'input_text', text }] } },
        ],
      });
      await newSession(c, { title: 'other' });
      const rows = expectSessionList(await c.get('/v1/sessions?search_query=quok'));
      expect(rows).toEqual([expect.objectContaining({ id: hit.id, search_snippet: text })]);
      const plain = expectSessionList(await c.get('/v1/sessions'));
      expect(plain.every((r) => !('search_snippet' in r))).toBe(true);
      expect(expectSessionList(await c.get('/v1/sessions?search_query='))).toHaveLength(2);
    });
  });

  describe('update', () => {
    let c: E2eClient;
    let id: string;

    beforeAll(async () => {
      c = clientFor(t, uniqueUser('patch'));
      id = (await newSession(c, { title: 'Before', labels: { a: '1' } })).id as string;
    });

    const patch = (body: Json) => c.patch(`/v1/sessions/${id}`).send(body);

    it('should change the title and merge labels', async () => {
      expect(expectSession(await patch({ title: 'After' }))).toMatchObject({
        title: 'After',
        labels: { a: '1' },
      });
      expect(expectSession(await patch({ labels: { b: '2' } })).labels).toEqual({
        a: '1',
        b: '2',
      });
      expect(expectSession(await c.get(`/v1/sessions/${id}`))).toMatchObject({
        title: 'After',
        labels: { a: '1', b: '2' },
      });
    });

    it('should refuse a reserved label with 400', async () => {
      const res = await patch({ labels: { 'omnigent.turn_actor': 'me' } });
      expectErrorBody(res, 400, 'invalid_input', /omnigent\.turn_actor/);
      expectErrorBody(await patch({ labels: { 'cost_control.x': '1' } }), 400, 'invalid_input');
    });

    it('should set model_override and clear it with "default"', async () => {
      expect(expectSession(await patch({ model_override: 'gpt-4o-mini' })).model_override).toBe(
        'gpt-4o-mini',
      );
      expect(expectSession(await patch({ model_override: 'default' })).model_override).toBeNull();
      expectErrorBody(await patch({ model_override: '  ' }), 400, 'invalid_input');
    });

    it('should set reasoning_effort, clear it, and refuse an unknown value with 400', async () => {
      expect(expectSession(await patch({ reasoning_effort: 'high' })).reasoning_effort).toBe(
        'high',
      );
      expect(expectSession(await patch({ reasoning_effort: 'reset' })).reasoning_effort).toBeNull();
      const res = await patch({ reasoning_effort: 'extreme' });
      expectErrorBody(res, 400, 'invalid_input', /reasoning_effort/);
    });

    it('should keep external_session_id write-once', async () => {
      expect(expectSession(await patch({ external_session_id: 'ext-1' }))).toMatchObject({
        external_session_id: 'ext-1',
      });
      expectSession(await patch({ external_session_id: 'ext-1' }));
      expectErrorBody(await patch({ external_session_id: 'ext-2' }), 400, 'invalid_input');
      expect(expectSession(await c.get(`/v1/sessions/${id}`)).external_session_id).toBe('ext-1');
    });

    it('should set and clear cost_control_mode_override, refusing other values with 400', async () => {
      expect(
        expectSession(await patch({ cost_control_mode_override: 'on' })).cost_control_mode_override,
      ).toBe('on');
      expect(
        expectSession(await patch({ cost_control_mode_override: null })).cost_control_mode_override,
      ).toBeNull();
      // spec/api-reference.md §3.5: "other values → 400".
      const res = await patch({ cost_control_mode_override: 'maybe' });
      expectErrorBody(res, 400, 'invalid_input');
    });

    it('should answer an unknown field with 422 extra_forbidden', async () => {
      const res = await patch({ title: 'x', colour: 'red' });
      expectErrorBody(res, 422, 'validation_error');
      expect(res.body.detail[0]).toMatchObject({
        type: 'extra_forbidden',
        loc: ['body', 'colour'],
      });
      expect(expectSession(await c.get(`/v1/sessions/${id}`)).title).toBe('After');
    });

    it('should refuse to bind an unknown or offline runner with 400', async () => {
      const unknown = `runner_${'ab'.repeat(16)}`;
      const res = await patch({ runner_id: unknown });
      expectErrorBody(res, 400, 'invalid_input', `runner '${unknown}' is not registered`);
      expectErrorBody(await patch({ runner_id: 'not-a-runner' }), 400, 'invalid_input');
      const session = expectSession(await patch({ runner_id: '' }));
      expect(session.runner_id).toBeNull();
    });
  });

  describe('items, fork, child sessions, agent and delete', () => {
    let c: E2eClient;
    let source: Json;
    let compactionId: string;

    beforeAll(async () => {
      c = clientFor(t, uniqueUser('tree'));
      source = await newSession(c, { title: 'Origin' });
      compactionId = await postCompaction(c, source.id, 'what happened so far');
    });

    it('should list items flattened in the list envelope', async () => {
      const res = await c.get(`/v1/sessions/${source.id}/items`).expect(200);
      expect(res.body).toEqual({
        object: 'list',
        data: [
          {
            id: compactionId,
            type: 'compaction',
            status: 'completed',
            response_id: expect.stringMatching(/^compact_[0-9a-f]{32}$/),
            created_at: expect.any(Number),
            summary: 'what happened so far',
            last_item_id: 'msg_1',
            token_count: 42,
          },
        ],
        first_id: compactionId,
        last_id: compactionId,
        has_more: false,
      });
      expectValid('PaginatedList', res.body);
      expectValid('CompactionData', res.body.data[0]);
    });

    it('should show the same item nested under data in the snapshot', async () => {
      const session = expectSession(await c.get(`/v1/sessions/${source.id}`));
      expect(session.items).toEqual([
        {
          id: compactionId,
          type: 'compaction',
          status: 'completed',
          response_id: expect.stringMatching(/^compact_/),
          created_at: expect.any(Number),
          created_by: null,
          data: { summary: 'what happened so far', last_item_id: 'msg_1', token_count: 42 },
        },
      ]);
    });

    it('should page items with limit/after', async () => {
      const second = await postCompaction(c, source.id, 'later');
      const first = await c.get(`/v1/sessions/${source.id}/items?limit=1`).expect(200);
      expect(first.body).toMatchObject({ has_more: true, first_id: compactionId });
      const next = await c
        .get(`/v1/sessions/${source.id}/items?limit=1&after=${compactionId}`)
        .expect(200);
      expect(next.body).toMatchObject({ has_more: false, first_id: second, last_id: second });
      const desc = await c.get(`/v1/sessions/${source.id}/items?order=desc`).expect(200);
      expect(desc.body.data.map((i: Json) => i.id)).toEqual([second, compactionId]);
      const back = await c
        .get(`/v1/sessions/${source.id}/items?limit=1&before=${second}`)
        .expect(200);
      expect(back.body).toMatchObject({ has_more: false, first_id: compactionId });
      const descAfter = await c
        .get(`/v1/sessions/${source.id}/items?order=desc&after=${second}`)
        .expect(200);
      expect(descAfter.body.data.map((i: Json) => i.id)).toEqual([compactionId]);
      const end = await c.get(`/v1/sessions/${source.id}/items?after=${second}`).expect(200);
      expect(end.body).toMatchObject({ data: [], has_more: false });
      expectErrorBody(
        await c.get(`/v1/sessions/${source.id}/items?after=msg_${'0'.repeat(32)}`),
        400,
        'invalid_input',
      );
    });

    it('should answer 304 to If-None-Match of an unchanged items page', async () => {
      const page = await c.get(`/v1/sessions/${source.id}/items`).expect(200);
      await c
        .get(`/v1/sessions/${source.id}/items`)
        .set('If-None-Match', page.headers.etag as string)
        .expect(304);
    });

    it('should stream a heartbeat first, then the item as a valid output_item.done', async () => {
      let posted: Promise<string> | undefined;
      // The heartbeat is the subscription ack: post only once it arrived.
      const [heartbeat, done] = await readFrames(
        `${t.url}/v1/sessions/${source.id}/stream`,
        c.headers,
        2,
        () => (posted = postCompaction(c, source.id, 'streamed')),
      );
      const itemId = await posted;
      expect(heartbeat.type).toBe('session.heartbeat');
      expectStreamEvent(heartbeat);
      expect(done).toMatchObject({
        type: 'response.output_item.done',
        item: { id: itemId, type: 'compaction', summary: 'streamed' },
      });
      expectStreamEvent(done);
    });

    it('should fork into a new idle session titled "Fork of <title>" with the history', async () => {
      const history = await c.get(`/v1/sessions/${source.id}/items`).expect(200);
      const res = await c.post(`/v1/sessions/${source.id}/fork`).send({});
      const fork = expectSession(res, 201);
      expect(fork).toMatchObject({
        title: 'Fork of Origin',
        status: 'idle',
        runner_id: null,
        agent_id: ECHO_ID,
        kind: 'default',
        parent_session_id: null,
      });
      expect(fork.id).not.toBe(source.id);
      expect(fork.root_conversation_id).toBe(fork.id);
      expect(history.body.data).toHaveLength(3);
      expect((fork.items as Json[]).map((i) => i.id)).toEqual(
        history.body.data.map((i: Json) => i.id),
      );
      const titled = expectSession(
        await c.post(`/v1/sessions/${source.id}/fork`).send({ title: 'Branch' }),
        201,
      );
      expect(titled.title).toBe('Branch');
    });

    it('should fork up to a response and refuse an unknown up_to_response_id with 400', async () => {
      const items = await c.get(`/v1/sessions/${source.id}/items`).expect(200);
      const firstResponse = items.body.data[0].response_id as string;
      const partial = expectSession(
        await c.post(`/v1/sessions/${source.id}/fork`).send({ up_to_response_id: firstResponse }),
        201,
      );
      expect((partial.items as Json[]).map((i) => i.id)).toEqual([compactionId]);
      const res = await c
        .post(`/v1/sessions/${source.id}/fork`)
        .send({ up_to_response_id: 'resp_unknown' });
      expectErrorBody(res, 400, 'invalid_input', /up_to_response_id/);
      const extra = await c.post(`/v1/sessions/${source.id}/fork`).send({ colour: 'red' });
      expectErrorBody(extra, 422, 'validation_error');
    });

    it('should fork a sub-agent session into a top-level one', async () => {
      const child = await newSession(c, { parent_session_id: source.id, title: 'task:promote' });
      const fork = expectSession(await c.post(`/v1/sessions/${child.id}/fork`).send({}), 201);
      expect(fork).toMatchObject({
        kind: 'default',
        parent_session_id: null,
        title: 'Fork of task:promote',
      });
      expect(fork.root_conversation_id).toBe(fork.id);
      await c.delete(`/v1/sessions/${child.id}`).expect(200);
    });

    it('should list child sessions', async () => {
      const child = await newSession(c, { parent_session_id: source.id, title: 'task:helper' });
      expect(child).toMatchObject({ kind: 'sub_agent', parent_session_id: source.id });
      const res = await c.get(`/v1/sessions/${source.id}/child_sessions`).expect(200);
      expectValid('ChildSessionList', res.body);
      expect(res.body).toMatchObject({
        object: 'list',
        first_id: child.id,
        last_id: child.id,
        has_more: false,
      });
      expect(res.body.data).toEqual([
        expect.objectContaining({
          id: child.id,
          object: 'child_session',
          parent_session_id: source.id,
          kind: 'sub_agent',
          title: 'task:helper',
          tool: 'task',
          session_name: 'helper',
          agent_id: ECHO_ID,
          busy: false,
        }),
      ]);
      expect(Object.keys(res.body.data[0])).toEqual(
        expect.arrayContaining(declaredProperties('ChildSessionSummary')),
      );
      const empty = await c.get(`/v1/sessions/${child.id}/child_sessions`).expect(200);
      expect(empty.body).toEqual({
        object: 'list',
        data: [],
        first_id: null,
        last_id: null,
        has_more: false,
      });
    });

    // Upstream's SessionResponse: "for sub-agents it points at the top-level ancestor".
    it('should point root_conversation_id of sub-agents at the top-level ancestor', async () => {
      const child = await newSession(c, { parent_session_id: source.id });
      const grandchild = await newSession(c, { parent_session_id: child.id });
      expect(grandchild.kind).toBe('sub_agent');
      expect({
        child: child.root_conversation_id,
        grandchild: grandchild.root_conversation_id,
      }).toEqual({ child: source.id, grandchild: source.id });
    });

    it("should describe the session's agent with its tools", async () => {
      const res = await c.get(`/v1/sessions/${source.id}/agent`).expect(200);
      expectValid('AgentObject', res.body);
      expect(res.body).toMatchObject({ id: ECHO_ID, object: 'agent', name: 'echo', builtin: true });
      expect(res.body.tools).toEqual(
        ECHO_TOOLS.map((name) => ({ name, runtime: 'server', description: null })),
      );
    });

    it('should delete the session and its children', async () => {
      const child = await newSession(c, { parent_session_id: source.id });
      const res = await c.delete(`/v1/sessions/${source.id}`).expect(200);
      expect(res.body).toEqual({ id: source.id, object: 'conversation.deleted', deleted: true });
      expectValid('ConversationDeleted', res.body);
      expectErrorBody(await c.get(`/v1/sessions/${source.id}`), 404, 'not_found');
      expectErrorBody(await c.get(`/v1/sessions/${child.id}`), 404, 'not_found');
      expectErrorBody(await c.get(`/v1/sessions/${source.id}/items`), 404, 'not_found');
      expectErrorBody(await c.delete(`/v1/sessions/${source.id}`), 404, 'not_found');
      const left = expectSessionList(await c.get('/v1/sessions?kind=any&limit=100'));
      expect(ids(left)).not.toEqual(expect.arrayContaining([source.id]));
      expect(ids(left)).not.toContain(child.id);
    });
  });
});
