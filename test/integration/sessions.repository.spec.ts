import { IdPrefix, newId } from 'src/common/ids/ids';
import { PageRequest } from 'src/common/pagination/pagination';
import { searchText } from 'src/modules/sessions/session-rules';
import { SessionListFilters, SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { factory, messageData, sessionFactory } from 'test/factories';
import { describeIntegration } from 'test/integration/integration-context';

describeIntegration(SessionsRepository.name, (ctx) => {
  const list = async (
    filters: Partial<SessionListFilters> & { ownerId: string },
    page: Partial<PageRequest> = {},
  ) => {
    const result = await ctx.sessions.list(
      { sortBy: 'created_at', includeArchived: false, kind: 'default', ...filters },
      { limit: 20, order: 'desc', ...page },
    );
    return result && { ids: result.rows.map((r) => r.session.id), hasMore: result.hasMore };
  };

  const count = async (table: 'items' | 'session_event_log' | 'sessions', ids: string[]) => {
    const column = table === 'sessions' ? 'id' : 'session_id';
    const rows: { n: string }[] = await ctx.dataSource.query(
      `SELECT count(*) AS n FROM ${table} WHERE ${column} = ANY($1)`,
      [ids],
    );
    return Number(rows[0].n);
  };

  describe('list', () => {
    it("should list only the owner's sessions, newest first", async () => {
      const ownerId = factory.userId();
      const first = await ctx.newSession({ ownerId });
      const second = await ctx.newSession({ ownerId });
      const third = await ctx.newSession({ ownerId });
      await ctx.newSession();

      const result = await ctx.sessions.list(
        { ownerId, sortBy: 'created_at', includeArchived: false, kind: 'default' },
        { limit: 20, order: 'desc' },
      );

      expect(result?.rows.map((r) => r.session.id)).toEqual([third.id, second.id, first.id]);
      expect(result?.hasMore).toBe(false);
      expect(result?.rows[0].agentName).toMatch(/^agent-/);
      expect(result?.rows[0].session.createdAt).toBeInstanceOf(Date);
    });

    it('should report has_more when the page is full', async () => {
      const ownerId = factory.userId();
      const sessions = [];
      for (let i = 0; i < 3; i++) {
        sessions.push(await ctx.newSession({ ownerId }));
      }

      await expect(list({ ownerId }, { limit: 2 })).resolves.toEqual({
        ids: [sessions[2].id, sessions[1].id],
        hasMore: true,
      });
      await expect(list({ ownerId }, { limit: 3 })).resolves.toMatchObject({ hasMore: false });
    });

    it('should continue after the cursor without repeating it, in both orders', async () => {
      const ownerId = factory.userId();
      const first = await ctx.newSession({ ownerId });
      const second = await ctx.newSession({ ownerId });
      const third = await ctx.newSession({ ownerId });

      await expect(list({ ownerId }, { order: 'asc', after: first.id })).resolves.toEqual({
        ids: [second.id, third.id],
        hasMore: false,
      });
      await expect(list({ ownerId }, { order: 'desc', after: third.id })).resolves.toEqual({
        ids: [second.id, first.id],
        hasMore: false,
      });
      await expect(list({ ownerId }, { order: 'desc', before: first.id })).resolves.toEqual({
        ids: [third.id, second.id],
        hasMore: false,
      });
    });

    describe.each(['desc', 'asc'] as const)('keyset pagination in %s order', (order) => {
      const ownerId = factory.userId();
      let expected: string[];

      beforeAll(async () => {
        const agent = await ctx.newAgent();
        // One transaction: now() is the same for every row, so only the id breaks the ties.
        const ids = await ctx.sessions.transaction(async (manager) => {
          const inserted: string[] = [];
          for (let i = 0; i < 25; i++) {
            const row = await ctx.sessions.insert(
              manager,
              sessionFactory({ ownerId, agentId: agent.id }),
            );
            inserted.push(row.id);
          }
          return inserted;
        });
        const stamps: { n: string }[] = await ctx.dataSource.query(
          `SELECT count(DISTINCT created_at) AS n FROM sessions WHERE owner_id = $1`,
          [ownerId],
        );
        expect(Number(stamps[0].n)).toBe(1);
        expect(new Set(ids).size).toBe(25);
        const ascending = [...ids].sort();
        expected = order === 'asc' ? ascending : ascending.reverse();
      });

      it('should walk forward with after without skipping or repeating a row', async () => {
        const seen: string[] = [];
        const hasMore: boolean[] = [];
        let after: string | undefined;
        for (let guard = 0; guard < 10; guard++) {
          const page = await list({ ownerId }, { limit: 10, order, after });
          expect(page).not.toBeNull();
          seen.push(...(page?.ids ?? []));
          hasMore.push(page?.hasMore ?? false);
          if (!page?.hasMore) {
            break;
          }
          after = page.ids[page.ids.length - 1];
        }

        expect(seen).toEqual(expected);
        expect(hasMore).toEqual([true, true, false]);
      });

      it('should walk back with before without skipping or repeating a row', async () => {
        const seen: string[] = [expected[expected.length - 1]];
        const hasMore: boolean[] = [];
        let before = expected[expected.length - 1];
        for (let guard = 0; guard < 10; guard++) {
          const page = await list({ ownerId }, { limit: 10, order, before });
          expect(page).not.toBeNull();
          seen.unshift(...(page?.ids ?? []));
          hasMore.push(page?.hasMore ?? false);
          if (!page?.hasMore) {
            break;
          }
          before = page.ids[0];
        }

        expect(seen).toEqual(expected);
        expect(hasMore).toEqual([true, true, false]);
      });

      it('should return the rows just before the cursor, still in sort order', async () => {
        await expect(list({ ownerId }, { limit: 3, order, before: expected[10] })).resolves.toEqual(
          { ids: expected.slice(7, 10), hasMore: true },
        );
        await expect(list({ ownerId }, { limit: 3, order, after: expected[10] })).resolves.toEqual({
          ids: expected.slice(11, 14),
          hasMore: true,
        });
      });
    });

    it('should sort by updated_at when asked', async () => {
      const ownerId = factory.userId();
      const first = await ctx.newSession({ ownerId });
      const second = await ctx.newSession({ ownerId });
      const third = await ctx.newSession({ ownerId });
      await ctx.sessions.update(first.id, { title: 'renamed' });

      await expect(list({ ownerId, sortBy: 'updated_at' })).resolves.toEqual({
        ids: [first.id, third.id, second.id],
        hasMore: false,
      });
      await expect(list({ ownerId, sortBy: 'updated_at' }, { after: first.id })).resolves.toEqual({
        ids: [third.id, second.id],
        hasMore: false,
      });
      await expect(list({ ownerId, sortBy: 'created_at' })).resolves.toEqual({
        ids: [third.id, second.id, first.id],
        hasMore: false,
      });
    });

    it('should hide archived sessions unless asked to include them', async () => {
      const ownerId = factory.userId();
      const active = await ctx.newSession({ ownerId });
      const archived = await ctx.newSession({ ownerId, archived: true });

      await expect(list({ ownerId })).resolves.toEqual({ ids: [active.id], hasMore: false });
      await expect(list({ ownerId, includeArchived: true })).resolves.toEqual({
        ids: [archived.id, active.id],
        hasMore: false,
      });
    });

    it('should filter by kind', async () => {
      const ownerId = factory.userId();
      const parent = await ctx.newSession({ ownerId });
      const child = await ctx.newSession({
        ownerId,
        kind: 'sub_agent',
        parentSessionId: parent.id,
        subAgentName: 'helper',
      });

      await expect(list({ ownerId, kind: 'default' })).resolves.toEqual({
        ids: [parent.id],
        hasMore: false,
      });
      await expect(list({ ownerId, kind: 'sub_agent' })).resolves.toEqual({
        ids: [child.id],
        hasMore: false,
      });
      await expect(list({ ownerId, kind: 'any' })).resolves.toEqual({
        ids: [child.id, parent.id],
        hasMore: false,
      });
    });

    it('should filter by agent id and agent name', async () => {
      const ownerId = factory.userId();
      const other = await ctx.newAgent();
      const onDefault = await ctx.newSession({ ownerId });
      const onOther = await ctx.newSession({ ownerId, agentId: other.id });

      await expect(list({ ownerId, agentId: other.id })).resolves.toEqual({
        ids: [onOther.id],
        hasMore: false,
      });
      await expect(list({ ownerId, agentName: other.name })).resolves.toEqual({
        ids: [onOther.id],
        hasMore: false,
      });
      await expect(list({ ownerId, agentId: onDefault.agentId })).resolves.toEqual({
        ids: [onDefault.id],
        hasMore: false,
      });
      await expect(list({ ownerId, agentName: 'no-such-agent' })).resolves.toEqual({
        ids: [],
        hasMore: false,
      });
    });

    it("should search title prefixes and message text, never another owner's sessions", async () => {
      const ownerId = factory.userId();
      const planning = await ctx.newSession({ ownerId, title: 'Quarterly planning notes' });
      const groceries = await ctx.newSession({ ownerId, title: 'Groceries' });
      await ctx.newItem(groceries.id, {
        data: messageData('user', 'Remember the zucchini bread recipe'),
      });
      const untitled = await ctx.newSession({ ownerId, title: null });
      await ctx.newItem(untitled.id, {
        data: messageData('assistant', 'Quarterly numbers are in'),
      });
      const unrelated = await ctx.newSession({ ownerId, title: 'Unrelated' });
      await ctx.newItem(unrelated.id, {
        type: 'function_call',
        data: { model: 'm', name: 'zucchini', arguments: '{}', call_id: 'call_1' },
      });
      await ctx.newSession({ title: 'Quarterly planning of somebody else' });

      const search = (text: string) => list({ ownerId, search: searchText(text) });

      await expect(search('quart')).resolves.toEqual({
        ids: [untitled.id, planning.id],
        hasMore: false,
      });
      await expect(search('Quarterly PLAN')).resolves.toEqual({
        ids: [planning.id],
        hasMore: false,
      });
      await expect(search('zucch bre')).resolves.toEqual({
        ids: [groceries.id],
        hasMore: false,
      });
      await expect(search('nothing-matches-this')).resolves.toEqual({ ids: [], hasMore: false });
    });

    it('should answer null for an unknown cursor or one of another owner', async () => {
      const ownerId = factory.userId();
      await ctx.newSession({ ownerId });
      const foreign = await ctx.newSession();

      await expect(list({ ownerId }, { after: newId(IdPrefix.Session) })).resolves.toBeNull();
      await expect(list({ ownerId }, { before: newId(IdPrefix.Session) })).resolves.toBeNull();
      await expect(list({ ownerId }, { after: foreign.id })).resolves.toBeNull();
    });
  });

  describe('listChildren', () => {
    it("should list a session's children newest first, optionally by title", async () => {
      const parent = await ctx.newSession();
      const child = (subAgentName: string) =>
        ctx.newSession({
          ownerId: parent.ownerId,
          kind: 'sub_agent',
          parentSessionId: parent.id,
          subAgentName,
          title: subAgentName,
        });
      const a = await child('alpha');
      const b = await child('beta');
      const c = await child('alpha');
      const page = { limit: 2, order: 'desc' } as const;

      const first = await ctx.sessions.listChildren(parent.id, page);
      const rest = await ctx.sessions.listChildren(parent.id, { ...page, after: b.id });
      const alphas = await ctx.sessions.listChildren(parent.id, { ...page, limit: 10 }, 'alpha');

      expect(first).toMatchObject({ hasMore: true });
      expect(first?.rows.map((r) => r.session.id)).toEqual([c.id, b.id]);
      expect(rest?.rows.map((r) => r.session.id)).toEqual([a.id]);
      expect(alphas?.rows.map((r) => r.session.id)).toEqual([c.id, a.id]);
      await expect(
        ctx.sessions.listChildren(parent.id, { ...page, after: parent.id }),
      ).resolves.toBeNull();
    });
  });

  describe('treeIds', () => {
    it('should return the session and its whole sub-agent tree', async () => {
      const root = await ctx.newSession();
      const sub = (parentSessionId: string) =>
        ctx.newSession({ ownerId: root.ownerId, kind: 'sub_agent', parentSessionId });
      const child = await sub(root.id);
      const sibling = await sub(root.id);
      const grandchild = await sub(child.id);
      const greatGrandchild = await sub(grandchild.id);
      await ctx.newSession({ ownerId: root.ownerId });

      const all = await ctx.sessions.treeIds(ctx.dataSource.manager, root.id);
      const branch = await ctx.sessions.treeIds(ctx.dataSource.manager, child.id);

      expect(all[0]).toBe(root.id);
      expect([...all].sort()).toEqual(
        [root.id, child.id, sibling.id, grandchild.id, greatGrandchild.id].sort(),
      );
      expect(all.indexOf(greatGrandchild.id)).toBeGreaterThan(all.indexOf(grandchild.id));
      expect(branch).toEqual([child.id, grandchild.id, greatGrandchild.id]);
      await expect(
        ctx.sessions.treeIds(ctx.dataSource.manager, newId(IdPrefix.Session)),
      ).resolves.toEqual([]);
    });
  });

  describe('deleteMany', () => {
    it('should delete the sessions with their items, event logs and children', async () => {
      const root = await ctx.newSession();
      const child = await ctx.newSession({
        ownerId: root.ownerId,
        kind: 'sub_agent',
        parentSessionId: root.id,
      });
      const kept = await ctx.newSession({ ownerId: root.ownerId });
      for (const session of [root, child, kept]) {
        await ctx.newItem(session.id);
        await ctx.newItem(session.id, { data: messageData('assistant', 'hi') });
        await ctx.dataSource.transaction((m) =>
          ctx.events.append(m, session.id, [{ type: 'session.status', status: 'idle' }]),
        );
      }
      const gone = [root.id, child.id];
      expect(await count('items', gone)).toBe(4);
      expect(await count('session_event_log', gone)).toBe(2);

      await ctx.sessions.transaction((m) => ctx.sessions.deleteMany(m, [root.id]));

      expect(await count('sessions', gone)).toBe(0);
      expect(await count('items', gone)).toBe(0);
      expect(await count('session_event_log', gone)).toBe(0);
      expect(await count('sessions', [kept.id])).toBe(1);
      expect(await count('items', [kept.id])).toBe(2);
      expect(await count('session_event_log', [kept.id])).toBe(1);
    });

    it('should do nothing for an empty list', async () => {
      await expect(
        ctx.sessions.transaction((m) => ctx.sessions.deleteMany(m, [])),
      ).resolves.toBeUndefined();
    });
  });

  describe('listBusyOnRunner', () => {
    it("should list the runner's running and waiting sessions only", async () => {
      const runnerId = newId(IdPrefix.Runner);
      const running = await ctx.newSession({ runnerId, liveStatus: 'running' });
      const waiting = await ctx.newSession({ runnerId, liveStatus: 'waiting' });
      await ctx.newSession({ runnerId, liveStatus: 'idle' });
      await ctx.newSession({ runnerId, liveStatus: 'failed' });
      await ctx.newSession({ runnerId: newId(IdPrefix.Runner), liveStatus: 'running' });

      const busy = await ctx.sessions.listBusyOnRunner(runnerId);

      expect(busy.map((s) => s.id).sort()).toEqual([running.id, waiting.id].sort());
    });
  });
});
