import { IdPrefix, newId } from 'src/common/ids/ids';
import { PageRequest } from 'src/common/pagination/pagination';
import { ItemsRepository, NewItem } from 'src/modules/sessions/items.repository';
import { StoredItem } from 'src/protocol/items';
import { itemFactory, messageData } from 'test/factories';
import { describeIntegration } from 'test/integration/integration-context';

describeIntegration(ItemsRepository.name, (ctx) => {
  const upsert = (sessionId: string, items: NewItem[]) =>
    ctx.dataSource.transaction((m) => ctx.items.upsert(m, sessionId, items));

  const stored = (sessionId: string) => ctx.items.listAll(sessionId, 1000);

  const page = async (sessionId: string, request: Partial<PageRequest>) => {
    const result = await ctx.items.page(sessionId, { limit: 20, order: 'asc', ...request });
    return result && { ids: result.rows.map((r) => r.id), hasMore: result.hasMore };
  };

  const withoutCreatedAt = ({ created_at: _, ...item }: StoredItem) => item;

  describe('upsert', () => {
    it('should store an item once when it is upserted twice', async () => {
      const session = await ctx.newSession();
      const item = itemFactory({ created_by: session.ownerId });

      const first = await upsert(session.id, [item]);
      const position = await ctx.items.lastPositionOfResponse(session.id, item.response_id);
      const second = await upsert(session.id, [item]);

      expect(first).toEqual([{ ...item, created_at: expect.any(Number) }]);
      expect(second).toEqual(first);
      expect((await stored(session.id)).map(withoutCreatedAt)).toEqual([item]);
      await expect(ctx.items.lastPositionOfResponse(session.id, item.response_id)).resolves.toBe(
        position,
      );
    });

    it('should update the status and data of the same item in place', async () => {
      const session = await ctx.newSession();
      const before = await ctx.newItem(session.id);
      const call = itemFactory({
        id: newId(IdPrefix.FunctionCall),
        type: 'function_call',
        status: 'in_progress',
        data: { model: 'm', name: 'shell', arguments: '{"cmd":"ls"}', call_id: 'call_1' },
      });
      await upsert(session.id, [call]);
      const after = await ctx.newItem(session.id);

      const done = { ...call, status: 'completed', data: { ...call.data, arguments: '{}' } };
      await expect(upsert(session.id, [done])).resolves.toHaveLength(1);

      const rows = await stored(session.id);
      expect(rows.map((r) => r.id)).toEqual([before.id, call.id, after.id]);
      expect(withoutCreatedAt(rows[1])).toEqual(done);
    });

    it.each<[string, (item: NewItem) => Partial<NewItem>]>([
      [
        'type',
        () => ({
          type: 'function_call_output',
          data: { call_id: 'call_1', output: 'overwritten' },
        }),
      ],
      ['response_id', () => ({ response_id: newId(IdPrefix.Response) })],
      ['author', () => ({ created_by: newId('user') })],
      ['author (set to none)', () => ({ created_by: null })],
    ])(
      'should leave the stored item alone when the same id comes with another %s',
      async (_, change) => {
        const session = await ctx.newSession();
        const original = itemFactory({
          created_by: session.ownerId,
          data: messageData('user', 'original words'),
        });
        await upsert(session.id, [original]);
        const impostor: NewItem = {
          ...original,
          status: 'incomplete',
          data: messageData('user', 'overwritten words'),
          ...change(original),
        };

        await expect(upsert(session.id, [impostor])).resolves.toEqual([]);

        expect((await stored(session.id)).map(withoutCreatedAt)).toEqual([original]);
        await expect(ctx.items.searchSnippets([session.id], 'overwritten')).resolves.toEqual(
          new Map(),
        );
      },
    );

    it('should store the rest of a batch when one item is not ours to change', async () => {
      const session = await ctx.newSession();
      const original = await ctx.newItem(session.id);
      const fresh = itemFactory();

      const result = await upsert(session.id, [
        { ...original, response_id: newId(IdPrefix.Response) },
        fresh,
      ]);

      expect(result.map((r) => r.id)).toEqual([fresh.id]);
      expect((await stored(session.id)).map((r) => r.id)).toEqual([original.id, fresh.id]);
    });

    it('should keep the same item id apart in different sessions', async () => {
      const a = await ctx.newSession();
      const b = await ctx.newSession();
      const item = itemFactory();

      await upsert(a.id, [item]);
      await upsert(b.id, [{ ...item, response_id: newId(IdPrefix.Response) }]);

      expect((await stored(a.id)).map(withoutCreatedAt)).toEqual([item]);
      expect((await stored(b.id)).map((r) => r.response_id)).not.toEqual([item.response_id]);
    });
  });

  describe('page', () => {
    let sessionId: string;
    let ids: string[];

    beforeAll(async () => {
      const session = await ctx.newSession();
      sessionId = session.id;
      ids = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await ctx.newItem(sessionId)).id);
      }
      await ctx.newItem((await ctx.newSession()).id);
    });

    it('should page forward in conversation order with after', async () => {
      await expect(page(sessionId, { limit: 2 })).resolves.toEqual({
        ids: ids.slice(0, 2),
        hasMore: true,
      });
      await expect(page(sessionId, { limit: 2, after: ids[1] })).resolves.toEqual({
        ids: ids.slice(2, 4),
        hasMore: true,
      });
      await expect(page(sessionId, { limit: 2, after: ids[3] })).resolves.toEqual({
        ids: ids.slice(4),
        hasMore: false,
      });
    });

    it('should page newest first in desc order', async () => {
      const reversed = [...ids].reverse();

      await expect(page(sessionId, { limit: 3, order: 'desc' })).resolves.toEqual({
        ids: reversed.slice(0, 3),
        hasMore: true,
      });
      await expect(
        page(sessionId, { limit: 3, order: 'desc', after: reversed[2] }),
      ).resolves.toEqual({ ids: reversed.slice(3), hasMore: false });
    });

    it('should return the items just before the cursor, still in sort order', async () => {
      const reversed = [...ids].reverse();

      await expect(page(sessionId, { limit: 2, before: ids[3] })).resolves.toEqual({
        ids: ids.slice(1, 3),
        hasMore: true,
      });
      await expect(page(sessionId, { limit: 2, before: ids[1] })).resolves.toEqual({
        ids: ids.slice(0, 1),
        hasMore: false,
      });
      await expect(
        page(sessionId, { limit: 2, order: 'desc', before: reversed[3] }),
      ).resolves.toEqual({ ids: reversed.slice(1, 3), hasMore: true });
    });

    it('should answer null for a cursor that is not an item of the session', async () => {
      const other = await ctx.newSession();
      const foreign = await ctx.newItem(other.id);

      await expect(page(sessionId, { after: newId(IdPrefix.Message) })).resolves.toBeNull();
      await expect(page(sessionId, { before: foreign.id })).resolves.toBeNull();
    });
  });

  describe('copy', () => {
    it('should copy the items up to a position, keeping ids and order', async () => {
      const source = await ctx.newSession();
      const turns = [newId(IdPrefix.Response), newId(IdPrefix.Response)];
      const items: StoredItem[] = [];
      for (const responseId of [turns[0], turns[0], turns[1], turns[1], turns[1]]) {
        items.push(
          await ctx.newItem(source.id, {
            response_id: responseId,
            created_by: source.ownerId,
            data: messageData('user', `item ${items.length}`),
          }),
        );
      }
      await ctx.newItem(source.id, { data: messageData('assistant', 'after the fork point') });
      const upTo = await ctx.items.lastPositionOfResponse(source.id, turns[1]);
      const partial = await ctx.newSession({ ownerId: source.ownerId });
      const full = await ctx.newSession({ ownerId: source.ownerId });

      await ctx.dataSource.transaction((m) => ctx.items.copy(m, source.id, partial.id, upTo));
      await ctx.dataSource.transaction((m) => ctx.items.copy(m, source.id, full.id, null));

      expect(await stored(partial.id)).toEqual(items);
      expect(await stored(full.id)).toEqual(await stored(source.id));
      await expect(ctx.items.searchSnippets([partial.id], 'item 3')).resolves.toEqual(
        new Map([[partial.id, 'item 3']]),
      );
    });
  });

  describe('lastPositionOfResponse', () => {
    it('should return the position of the last item of a response', async () => {
      const session = await ctx.newSession();
      const [a, b] = [newId(IdPrefix.Response), newId(IdPrefix.Response)];
      await ctx.newItem(session.id, { response_id: a });
      await ctx.newItem(session.id, { response_id: a });
      const lastOfA = await ctx.items.lastPositionOfResponse(session.id, a);
      await ctx.newItem(session.id, { response_id: b });
      await ctx.newItem(session.id, { response_id: b });

      const lastOfB = await ctx.items.lastPositionOfResponse(session.id, b);

      expect(typeof lastOfA).toBe('number');
      expect(lastOfB).toBeGreaterThan(lastOfA as number);
      await expect(ctx.items.lastPositionOfResponse(session.id, a)).resolves.toBe(lastOfA);
      await expect(
        ctx.items.lastPositionOfResponse(session.id, newId(IdPrefix.Response)),
      ).resolves.toBeNull();
      await expect(
        ctx.items.lastPositionOfResponse((await ctx.newSession()).id, a),
      ).resolves.toBeNull();
    });
  });

  describe('searchSnippets', () => {
    it('should return the first matching message text of each session', async () => {
      const apples = await ctx.newSession();
      await ctx.newItem(apples.id, { data: messageData('user', 'Tell me about Apples') });
      await ctx.newItem(apples.id, { data: messageData('assistant', 'Apple pie is great') });
      const bananas = await ctx.newSession();
      await ctx.newItem(bananas.id, { data: messageData('user', 'bananas and apples') });
      const tools = await ctx.newSession();
      await ctx.newItem(tools.id, {
        type: 'function_call_output',
        data: { call_id: 'call_1', output: 'apples' },
      });
      const ids = [apples.id, bananas.id, tools.id];

      await expect(ctx.items.searchSnippets(ids, 'appl')).resolves.toEqual(
        new Map([
          [apples.id, 'Tell me about Apples'],
          [bananas.id, 'bananas and apples'],
        ]),
      );
      await expect(ctx.items.searchSnippets(ids, 'pie')).resolves.toEqual(
        new Map([[apples.id, 'Apple pie is great']]),
      );
      await expect(ctx.items.searchSnippets([], 'apples')).resolves.toEqual(new Map());
    });
  });

  describe('lastMessageTexts', () => {
    it('should return the latest message text of each session', async () => {
      const chatty = await ctx.newSession();
      await ctx.newItem(chatty.id, { data: messageData('user', 'first') });
      await ctx.newItem(chatty.id, { data: messageData('assistant', 'latest') });
      await ctx.newItem(chatty.id, {
        type: 'function_call_output',
        data: { call_id: 'call_1', output: 'not a message' },
      });
      const quiet = await ctx.newSession();

      await expect(ctx.items.lastMessageTexts([chatty.id, quiet.id])).resolves.toEqual(
        new Map([[chatty.id, 'latest']]),
      );
      await expect(ctx.items.lastMessageTexts([])).resolves.toEqual(new Map());
    });
  });
});
