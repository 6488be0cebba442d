import { useTestApp } from 'test/e2e/create-app';
import {
  clientFor,
  E2eClient,
  expectErrorBody,
  JWT_ENV,
  randomSessionId,
  uniqueUser,
} from 'test/utils/e2e-client';
import {
  ASSISTANT_ID,
  ECHO_ID,
  expectSession,
  expectSessionList,
  ids,
  newSession,
} from 'test/utils/session-e2e';

describe('sessions', () => {
  const t = useTestApp('postgres', JWT_ENV, { listen: true });

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
});
