import http from 'node:http';

import { declaredProperties, expectStreamEvent, expectValid } from 'test/contract/upstream-schemas';
import { useTestApp } from 'test/e2e/create-app';
import { clientFor, E2eClient, expectErrorBody, JWT_ENV, uniqueUser } from 'test/utils/e2e-client';
import {
  ECHO_ID,
  expectSession,
  expectSessionList,
  ids,
  Json,
  newSession,
  postCompaction,
} from 'test/utils/session-e2e';
import { AMBIENT_TYPES } from 'test/utils/sse-client';

const ECHO_TOOLS = ['list_dir', 'read_file', 'write_file', 'edit_file', 'shell'];

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
  const t = useTestApp('postgres', JWT_ENV, { listen: true });

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
