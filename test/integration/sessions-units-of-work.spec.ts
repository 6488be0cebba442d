import { Client } from 'pg';
import { QueryFailedError } from 'typeorm';

import { IdPrefix, newId } from 'src/common/ids/ids';
import type { AppConfig } from 'src/config/app-config';
import { FlatItem } from 'src/protocol/items';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import { MAX_ITEMS_WITH_LOG } from 'src/modules/sessions/locked-session';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { agentFactory, factory, itemFactory, messageData, sessionFactory } from 'test/factories';
import { describeIntegration } from 'test/integration/integration-context';

/** The intent-named units of work of SessionsRepository: each is one transaction. */
describeIntegration(`${SessionsRepository.name} units of work`, (ctx) => {
  const count = async (
    table: 'agents' | 'items' | 'session_event_log' | 'sessions',
    ids: string[],
  ) => {
    const column = table === 'items' || table === 'session_event_log' ? 'session_id' : 'id';
    const rows: { n: string }[] = await ctx.dataSource.query(
      `SELECT count(*) AS n FROM ${table} WHERE ${column} = ANY($1)`,
      [ids],
    );
    return Number(rows[0].n);
  };
  /** Quota far above what any test reaches. */
  const ROOM = 1_000_000;
  const createSession = async (
    fields: Parameters<SessionsRepository['createWithAgent']>[0],
    agent?: Partial<AgentEntity>,
  ): Promise<SessionEntity> => {
    const created = await ctx.sessions.createWithAgent(fields, ROOM, agent);
    if (!created) {
      throw new Error('quota unexpectedly reached');
    }
    return created;
  };
  const forkSession = async (
    fields: Parameters<SessionsRepository['fork']>[0],
    from: Parameters<SessionsRepository['fork']>[1],
  ): Promise<SessionEntity> => {
    const created = await ctx.sessions.fork(fields, from, ROOM);
    if (!created) {
      throw new Error('quota unexpectedly reached');
    }
    return created;
  };

  describe('withLockedSession', () => {
    it('should return null without running the work for an unknown session', async () => {
      const work = jest.fn();
      await expect(
        ctx.sessions.withLockedSession(newId(IdPrefix.Session), work),
      ).resolves.toBeNull();
      expect(work).not.toHaveBeenCalled();
    });

    it('should write the patch, the items and the durable events together', async () => {
      const session = await ctx.newSession({ logSeq: 4 });
      const item = itemFactory();

      const done = await ctx.sessions.withLockedSession(session.id, async (s) => {
        s.patch({ liveStatus: 'running', currentTurnId: item.response_id });
        expect(s.row.liveStatus).toBe('running');
        const stored = await s.upsertItems([item]);
        s.emit('session.status', { status: 'running', response_id: item.response_id });
        s.emit('response.output_text.delta', { delta: 'hi' });
        s.emit('response.output_item.done', { item: { id: item.id, type: 'message' } });
        return stored.length;
      });

      expect(done?.result).toBe(1);
      expect(done?.events.map((e) => [e.seq, e.event.type])).toEqual([
        [5, 'session.status'],
        [null, 'response.output_text.delta'],
        [6, 'response.output_item.done'],
      ]);
      expect(done?.events[0].event).toMatchObject({
        conversation_id: session.id,
        error: null,
        response_id: item.response_id,
      });
      const after = await ctx.sessions.getById(session.id);
      expect(after).toMatchObject({
        liveStatus: 'running',
        currentTurnId: item.response_id,
        logSeq: 6,
      });
      expect((await ctx.items.listAll(session.id, 10)).map((i) => i.id)).toEqual([item.id]);
      const logged = await ctx.events.range(session.id, 0, 100, 100);
      expect(logged).toEqual([done?.events[0], done?.events[2]]);
    });

    it('should write a patch without durable events, and log nothing', async () => {
      const session = await ctx.newSession({ logSeq: 4, labels: { a: '1' } });

      const done = await ctx.sessions.withLockedSession(session.id, async (s) => {
        s.patch({ eventSeq: 7, labels: { a: '2', b: '3' } });
        s.emit('response.output_text.delta', { delta: 'hi' });
      });

      expect(done?.events.map((e) => e.seq)).toEqual([null]);
      const after = await ctx.sessions.getById(session.id);
      expect(after).toMatchObject({ eventSeq: 7, labels: { a: '2', b: '3' }, logSeq: 4 });
      expect(after?.updatedAt.getTime()).toBeGreaterThan(session.updatedAt.getTime());
      expect(await count('session_event_log', [session.id])).toBe(0);
    });

    it("should write a patch's jsonb and bigint fields in the log's UPDATE", async () => {
      const session = await ctx.newSession({ logSeq: 4 });

      await ctx.sessions.withLockedSession(session.id, async (s) => {
        s.patch({ eventSeq: 2 ** 40, labels: { team: 'x"y' } });
        s.emit('session.status', { status: 'idle' });
      });

      const after = await ctx.sessions.getById(session.id);
      expect(after).toMatchObject({ eventSeq: 2 ** 40, labels: { team: 'x"y' }, logSeq: 5 });
      expect(after?.updatedAt.getTime()).toBeGreaterThan(session.updatedAt.getTime());
    });
    it('should commit an asyncCommit unit visibly at once, durable once the WAL flush passes it', async () => {
      const session = await ctx.newSession();
      const before = await ctx.sessions.walPositions();
      await ctx.sessions.withLockedSession(session.id, async (s) => s.patch({ title: 'async' }), {
        asyncCommit: true,
      });
      expect((await ctx.sessions.getById(session.id))?.title).toBe('async');
      const after = await ctx.sessions.walPositions();
      expect(after.insert).toBeGreaterThan(before.insert);
      expect(after.incarnation).toBe(before.incarnation);
      // PostgreSQL's WAL writer flushes it on its own (within wal_writer_delay).
      let flushed = after;
      while (flushed.flush < after.insert) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        flushed = await ctx.sessions.walPositions();
      }
      expect(flushed.incarnation).toBe(before.incarnation);
      // SET LOCAL: the pooled connections keep committing synchronously.
      const [{ synchronous_commit: mode }] = (await ctx.dataSource.query(
        'SHOW synchronous_commit',
      )) as { synchronous_commit: string }[];
      expect(mode).toBe('on');
    });

    it('should write nothing when the work fails', async () => {
      const session = await ctx.newSession();

      await expect(
        ctx.sessions.withLockedSession(session.id, async (s) => {
          s.patch({ liveStatus: 'failed' });
          await s.upsertItems([itemFactory()]);
          s.emit('session.status', { status: 'failed' });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');

      expect(await ctx.sessions.getById(session.id)).toMatchObject({
        liveStatus: 'idle',
        logSeq: 0,
      });
      expect(await count('items', [session.id])).toBe(0);
      expect(await count('session_event_log', [session.id])).toBe(0);
    });

    it('should refuse an event payload its schema rejects, before anything is written', async () => {
      const session = await ctx.newSession();

      await expect(
        ctx.sessions.withLockedSession(session.id, async (s) => {
          s.patch({ title: 'changed' });
          // A response event needs its response id.
          s.relay({ type: 'response.completed', response: { status: 'completed' } } as never);
        }),
      ).rejects.toThrow("needs 'response.id'");
      expect(await ctx.sessions.getById(session.id)).toMatchObject({ title: session.title });
    });

    it('should run concurrent units of one session one after the other', async () => {
      const session = await ctx.newSession();

      await Promise.all(
        Array.from({ length: 10 }, () =>
          ctx.sessions.withLockedSession(session.id, async (s) => {
            const seen = s.row.eventSeq;
            await new Promise((resolve) => setTimeout(resolve, 5));
            s.patch({ eventSeq: seen + 1 });
            s.emit('session.status', { status: 'idle' });
          }),
        ),
      );

      const after = await ctx.sessions.getById(session.id);
      expect(after).toMatchObject({ eventSeq: 10, logSeq: 10 });
      const seqs = (await ctx.events.range(session.id, 0, 100, 100)).map((e) => e.seq);
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    /**
     * The statements a unit sends (each a round trip), and the unit's outcome; `named` has the
     * name of each one sent as a prepared statement (its text is in `statements`).
     */
    const statementsOf = async <T>(
      run: () => Promise<T>,
    ): Promise<{
      statements: string[];
      named: (string | undefined)[];
      value?: T;
      error?: unknown;
    }> => {
      const query = jest.spyOn(Client.prototype, 'query');
      try {
        const outcome = await run().then(
          (value) => ({ value, error: undefined }),
          (error: unknown) => ({ value: undefined, error }),
        );
        const sent = query.mock.calls.map(([sql]) =>
          typeof sql === 'string' ? { text: sql } : (sql as { text: string; name?: string }),
        );
        return {
          statements: sent.map((q) => q.text),
          named: sent.map((q) => q.name),
          ...outcome,
        };
      } finally {
        query.mockRestore();
      }
    };

    it('should begin the transaction and lock the row in one round trip, then log and commit in one', async () => {
      const session = await ctx.newSession();
      const { statements } = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async (s) => {
          s.patch({ title: 'renamed' });
          s.emit('session.status', { status: 'idle' });
        }),
      );
      expect(statements).toHaveLength(2);
      expect(statements[0]).toMatch(
        /^START TRANSACTION; SELECT \*, xmin::text AS row_version__ FROM sessions .* FOR UPDATE$/,
      );
      expect(statements[1]).toMatch(/^WITH [\s\S]*u AS \(UPDATE "sessions"[\s\S]*; COMMIT$/);
      expect(await ctx.sessions.getById(session.id)).toMatchObject({ title: 'renamed', logSeq: 1 });
    });

    it('should read the item count with the locked row when asked, in the same round trip', async () => {
      const session = await ctx.newSession();
      const other = await ctx.newSession();
      await ctx.newItem(session.id);
      await ctx.newItem(session.id);
      await ctx.newItem(other.id);
      const counted = await statementsOf(() =>
        ctx.sessions.withLockedSession(
          session.id,
          async (s) => ({ itemCount: s.itemCount, row: s.row }),
          { countItems: true },
        ),
      );
      expect(counted.value?.result).toEqual({
        itemCount: 2,
        row: await ctx.sessions.getById(session.id),
      });
      // The posted message's access check, quota and lock: one round trip; nothing written.
      expect(counted.statements).toEqual([
        expect.stringMatching(
          /^START TRANSACTION; SELECT s\.\*, s\.xmin::text AS row_version__,\s+\(SELECT count[\s\S]* FOR UPDATE OF s$/,
        ),
        'COMMIT',
      ]);
      const plain = await ctx.sessions.withLockedSession(session.id, async (s) => s.itemCount);
      expect(plain?.result).toBeNull();
      await expect(
        ctx.sessions.withLockedSession(newId(IdPrefix.Session), async () => 1, {
          countItems: true,
        }),
      ).resolves.toBeNull();
    });

    it('should hold the row lock of a counted unit until it ends', async () => {
      const session = await ctx.newSession();
      const order: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const first = ctx.sessions.withLockedSession(
        session.id,
        async () => {
          order.push('first locked');
          await held;
          order.push('first done');
        },
        { countItems: true },
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = ctx.sessions.withLockedSession(session.id, async () => {
        order.push('second locked');
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();
      await Promise.all([first, second]);
      expect(order).toEqual(['first locked', 'first done', 'second locked']);
    });

    it('should send a patch without events, or a touch for items alone, with the COMMIT', async () => {
      const session = await ctx.newSession();
      const patched = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async (s) => s.patch({ title: 'patched' })),
      );
      expect(patched.statements).toHaveLength(2);
      expect(patched.statements[1]).toMatch(/^UPDATE "sessions" SET [\s\S]*; COMMIT$/);
      const touched = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async (s) => {
          await s.upsertItems([itemFactory()]);
        }),
      );
      expect(touched.statements).toHaveLength(3);
      expect(touched.statements[2]).toMatch(/^UPDATE sessions SET log_seq = log_seq .*; COMMIT$/);
      const idle = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async () => undefined),
      );
      expect(idle.statements).toEqual([expect.stringMatching(/^START/), 'COMMIT']);
      expect(await ctx.sessions.getById(session.id)).toMatchObject({ title: 'patched', logSeq: 0 });
      expect(await count('items', [session.id])).toBe(1);
    });

    describe('optimistic units', () => {
      /** A unit that logs an event, so this process knows the version it leaves. */
      const logged = (id: string, title: string) =>
        ctx.sessions.withLockedSession(id, async (s) => {
          s.patch({ title });
          s.emit('session.title', { title });
        });
      const optimistic = (
        id: string,
        work: Parameters<SessionsRepository['withLockedSession']>[1],
      ) => statementsOf(() => ctx.sessions.withLockedSession(id, work, { optimistic: true }));
      /** A posted message's unit: counted, optimistic, one item; its result is the count. */
      const message = (id: string, text = 'hello there') =>
        statementsOf(() =>
          ctx.sessions.withLockedSession(
            id,
            async (s) => {
              s.insertItems([itemFactory({ data: messageData('user', text) })]);
              s.emit('session.status', { status: 'running' });
              return s.itemCount;
            },
            { countItems: true, optimistic: true },
          ),
        );

      it('should write in one round trip, guarded by the version the last unit here committed', async () => {
        const session = await ctx.newSession();
        await logged(session.id, 'one');
        const stored = await ctx.sessions.getById(session.id);
        const rows: SessionEntity[] = [];
        const {
          statements,
          named,
          value: done,
        } = await optimistic(session.id, async (s) => {
          rows.push(s.row);
          s.patch({ liveStatus: 'running', eventSeq: 7 });
          s.emit('session.status', { status: 'running' });
          s.emit('response.output_text.delta', { delta: 'hi' });
        });

        expect(rows).toEqual([stored]);
        // The statement alone, prepared: its own transaction, no START TRANSACTION or COMMIT.
        expect(statements).toHaveLength(1);
        expect(statements[0]).toMatch(
          /^WITH [\s\S]*WHERE "id" = \$\d+ AND xmin::text = \$\d+[\s\S]*\S$/,
        );
        expect(statements[0]).not.toMatch(/COMMIT|START TRANSACTION/);
        expect(named[0]).toMatch(/^omni_[0-9a-f]{24}$/);
        expect(done?.events.map((e) => [e.seq, e.event.type])).toEqual([
          [2, 'session.status'],
          [null, 'response.output_text.delta'],
        ]);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({
          title: 'one',
          liveStatus: 'running',
          eventSeq: 7,
          logSeq: 2,
        });
        // And the next one too: the row it left is known, with PostgreSQL's log_seq and updated_at.
        const after = await ctx.sessions.getById(session.id);
        const next = await optimistic(session.id, async (s) => {
          rows.push(s.row);
          s.emit('session.status', { status: 'idle' });
        });
        expect(rows[1]).toEqual(after);
        expect(next.statements).toHaveLength(1);
        expect(next.value?.events[0].seq).toBe(3);
        // A unit of the same shape with more events: the same text, so the same statement.
        const more = await optimistic(session.id, async (s) => {
          s.emit('session.status', { status: 'running' });
          s.emit('session.status', { status: 'idle' });
        });
        expect(more.named).toEqual(next.named);
        expect(more.value?.events.map((e) => e.seq)).toEqual([4, 5]);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({ logSeq: 5 });
      });

      it('should lock the row when nothing here committed its last version', async () => {
        const session = await ctx.newSession();
        const first = await optimistic(session.id, async (s) => {
          s.emit('session.status', { status: 'idle' });
        });
        expect(first.statements).toHaveLength(2);
        expect(first.statements[0]).toMatch(/FOR UPDATE$/);
        // A write that returns no version (a patch alone) leaves nothing known either.
        await ctx.sessions.withLockedSession(session.id, async (s) => s.patch({ title: 'x' }));
        const second = await optimistic(session.id, async (s) => {
          s.emit('session.status', { status: 'running' });
        });
        expect(second.statements).toHaveLength(2);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({ title: 'x', logSeq: 2 });
      });

      it('should write nothing when another writer changed the row, and run the work again on the locked row', async () => {
        const session = await ctx.newSession();
        await logged(session.id, 'mine');
        // Another replica (or any statement) changes the row behind this process's back.
        await ctx.dataSource.query(
          `UPDATE sessions SET title = 'theirs', event_seq = 5 WHERE id = $1`,
          [session.id],
        );
        const seen: number[] = [];
        const { statements, value: done } = await optimistic(session.id, async (s) => {
          seen.push(s.row.eventSeq);
          s.patch({ eventSeq: s.row.eventSeq + 1 });
          s.emit('session.status', { status: 'running' });
        });

        expect(seen).toEqual([0, 5]);
        // The guarded statement fails (nothing of it is committed), then the locked unit.
        expect(statements).toHaveLength(3);
        expect(statements[0]).toMatch(/^WITH [\s\S]*xmin::text/);
        expect(statements[1]).toMatch(/FOR UPDATE$/);
        expect(done?.events.map((e) => e.seq)).toEqual([2]);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({
          title: 'theirs',
          eventSeq: 6,
          logSeq: 2,
        });
        expect((await ctx.events.range(session.id, 0, 10, 10)).map((e) => e.seq)).toEqual([1, 2]);
      });

      it('should wait for a unit holding the lock and write nothing over what it changed', async () => {
        const session = await ctx.newSession();
        await logged(session.id, 'start');
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let locked!: () => void;
        const isLocked = new Promise<void>((resolve) => (locked = resolve));
        // A unit without the log's statement: it leaves no version known here.
        const holder = ctx.sessions.transaction(async (manager) => {
          await manager.query(`SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE`, [session.id]);
          await manager.query(`UPDATE sessions SET title = 'holder' WHERE id = $1`, [session.id]);
          locked();
          await held;
        });
        await isLocked;
        const racing = optimistic(session.id, async (s) => {
          s.patch({ liveStatus: s.row.title === 'holder' ? 'idle' : 'running' });
          s.emit('session.status', { status: 'idle' });
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        release();
        await holder;
        const { statements } = await racing;

        // The holder's own COMMIT aside: the guarded try, then the locked unit's two.
        const unit = statements.filter((sql) => sql !== 'COMMIT');
        expect(unit).toHaveLength(3);
        expect(unit[0]).toMatch(/^WITH [\s\S]*xmin::text/);
        expect(unit[1]).toMatch(/FOR UPDATE$/);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({
          title: 'holder',
          liveStatus: 'idle',
          logSeq: 2,
        });
      });

      it('should send nothing for work that needs the lock, and run it on the locked row', async () => {
        const session = await ctx.newSession();
        await logged(session.id, 'one');
        const item = itemFactory();
        let runs = 0;
        const { statements } = await optimistic(session.id, async (s) => {
          runs++;
          s.emit('session.status', { status: 'running' });
          await s.upsertItems([item]);
        });
        expect(runs).toBe(2);
        expect(statements.map((sql) => sql.split(/\s/)[0])).toEqual(['START', 'INSERT', 'WITH']);
        expect(await count('items', [session.id])).toBe(1);

        // A unit that logs nothing (a patch alone) takes the lock too.
        await logged(session.id, 'two');
        const patch = await optimistic(session.id, async (s) => s.patch({ title: 'three' }));
        expect(patch.statements).toHaveLength(2);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({ title: 'three' });
      });

      it("should write a unit's items with its guarded statement, and know the item count after a counted unit", async () => {
        const session = await ctx.newSession();
        await ctx.newItem(session.id);
        // A counted unit (a posted message's) knows the count; nothing known yet: it locks.
        const first = await message(session.id);
        expect(first.value?.result).toBe(1);
        expect(first.statements).toHaveLength(2);
        // A runner's item, optimistic: the count is carried on (one new item).
        const item = itemFactory();
        const emitted = await optimistic(session.id, async (s) => {
          s.emitItem(item);
        });
        expect(emitted.statements).toHaveLength(1);
        expect(emitted.value?.events[0]).toMatchObject({
          seq: 2,
          event: { type: 'response.output_item.done', item: { id: item.id } },
        });
        // The same item again is an update, not a new item.
        await optimistic(session.id, async (s) => s.emitItem({ ...item, status: 'completed' }));
        // The next counted unit is optimistic: its guard checks the row and the count (3).
        const counted = await message(session.id);
        expect(counted.value?.result).toBe(3);
        expect(counted.statements).toHaveLength(1);
        expect(counted.statements[0]).toMatch(
          /SELECT count\(\*\) FROM items WHERE session_id = \$\d+\) = \$\d+/,
        );
        expect(await count('items', [session.id])).toBe(4);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({ logSeq: 4 });
      });

      it('should refuse a counted unit whose count changed without the row, writing none of its items', async () => {
        const session = await ctx.newSession();
        await message(session.id, 'one');
        // An item written apart from any unit (the row is not touched): the count is stale.
        await ctx.newItem(session.id);
        const second = await message(session.id, 'two');
        expect(second.value?.result).toBe(2);
        expect(second.statements.map((sql) => sql.split(/\s/)[0])).toEqual([
          'WITH',
          'START',
          'WITH',
        ]);
        expect(await count('items', [session.id])).toBe(3);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({ logSeq: 2 });
      });

      it("should claim a turn's terminal with the guarded statement, and run afterCommit once", async () => {
        const session = await ctx.newSession();
        await logged(session.id, 'one');
        const committed: string[] = [];
        const claim = (turnId: string) =>
          optimistic(session.id, async (s) => {
            const claimed = await s.claimTerminal(turnId, 'response.completed');
            if (claimed) {
              s.afterCommit(() => committed.push(turnId));
              s.emit('session.status', { status: 'idle' });
            }
            return claimed;
          });
        const first = await claim('resp_a');
        expect(first.value?.result).toBe(true);
        expect(first.statements).toHaveLength(1);
        expect(first.statements[0]).toMatch(/claimed AS \(\s*INSERT INTO turn_terminals/);
        expect(committed).toEqual(['resp_a']);
        // Claimed before: the guarded statement fails, and the locked unit's claim answers false.
        const again = await claim('resp_a');
        expect(again.value?.result).toBe(false);
        expect(again.statements.map((sql) => sql.split(/\s/)[0])).toEqual([
          'WITH',
          'START',
          'INSERT',
          'COMMIT',
        ]);
        expect(committed).toEqual(['resp_a']);
        const rows: { turn_id: string; type: string }[] = await ctx.dataSource.query(
          `SELECT turn_id, type FROM turn_terminals WHERE session_id = $1`,
          [session.id],
        );
        expect(rows).toEqual([{ turn_id: 'resp_a', type: 'response.completed' }]);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({ logSeq: 2 });
      });

      it('should not run afterCommit when the unit fails', async () => {
        const session = await ctx.newSession();
        const committed: number[] = [];
        await expect(
          ctx.sessions.withLockedSession(session.id, async (s) => {
            s.afterCommit(() => committed.push(1));
            s.emit('session.title', { title: 'a\u0000b' });
          }),
        ).rejects.toBeInstanceOf(QueryFailedError);
        expect(committed).toEqual([]);
      });

      it('should give an error only from the locked row: work that throws on the known row runs again', async () => {
        const session = await ctx.newSession();
        await logged(session.id, 'old');
        await ctx.dataSource.query(`UPDATE sessions SET title = 'new' WHERE id = $1`, [session.id]);
        const titles: string[] = [];
        const { statements, value } = await optimistic(session.id, async (s) => {
          titles.push(s.row.title ?? '');
          if (s.row.title !== 'new') {
            throw new Error('refused on a stale row');
          }
          s.emit('session.status', { status: 'idle' });
          return 'ok';
        });
        expect(titles).toEqual(['old', 'new']);
        expect(value?.result).toBe('ok');
        expect(statements).toHaveLength(2);
      });

      it('should fail as a locked unit does when its write fails, writing nothing', async () => {
        const session = await ctx.newSession();
        await logged(session.id, 'kept');
        const { statements, error } = await optimistic(session.id, async (s) => {
          s.patch({ title: 'lost' });
          s.emit('session.title', { title: 'a\u0000b' });
        });
        expect((error as QueryFailedError).driverError).toMatchObject({ code: '22P05' });
        // The statement alone was its own transaction: nothing to roll back.
        expect(statements.map((sql) => sql.split(/\s/)[0])).toEqual(['WITH']);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({ title: 'kept', logSeq: 1 });
        await logged(session.id, 'after');
        expect(await ctx.sessions.getById(session.id)).toMatchObject({ title: 'after', logSeq: 2 });
      });

      it('should send the write inlined, with its transaction, when prepared statements are off', async () => {
        // Behind a pooler that cannot keep prepared statements (OMNIGENT_DB_PREPARED_STATEMENTS).
        const unprepared = new SessionsRepository(
          ctx.dataSource.getRepository(SessionEntity),
          ctx.dataSource,
          { database: { preparedStatements: false } } as AppConfig,
        );
        const session = await ctx.newSession();
        await unprepared.withLockedSession(session.id, async (s) => {
          s.emit('session.title', { title: 'one' });
        });
        const { statements, named } = await statementsOf(() =>
          unprepared.withLockedSession(
            session.id,
            async (s) => {
              s.emit('session.status', { status: 'idle' });
            },
            { optimistic: true },
          ),
        );
        expect(statements).toHaveLength(1);
        expect(statements[0]).toMatch(
          /^START TRANSACTION; WITH [\s\S]*WHERE "id" = '[^']+' AND xmin::text = '\d+'[\s\S]*; COMMIT$/,
        );
        expect(named).toEqual([undefined]);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({ logSeq: 2 });
      });

      it('should keep the transaction around a write that commits asynchronously', async () => {
        const session = await ctx.newSession();
        await logged(session.id, 'one');
        const { statements, named } = await statementsOf(() =>
          ctx.sessions.withLockedSession(
            session.id,
            async (s) => {
              s.emit('session.status', { status: 'idle' });
            },
            { optimistic: true, asyncCommit: true },
          ),
        );
        expect(statements).toHaveLength(1);
        expect(statements[0]).toMatch(
          /^START TRANSACTION; SET LOCAL synchronous_commit = off; WITH [\s\S]*; COMMIT$/,
        );
        expect(named).toEqual([undefined]);
        expect(await ctx.sessions.getById(session.id)).toMatchObject({ logSeq: 2 });
      });
    });

    it('should store values sent as literals exactly: quotes, backslashes, jsonb, bigint', async () => {
      const session = await ctx.newSession({ logSeq: 1 });
      const title = `it's a \\ "test" $1 \n ünï 😀 ''`;
      const labels = { "o'k": 'back\\slash', nested: '$2' };

      const done = await ctx.sessions.withLockedSession(session.id, async (s) => {
        s.patch({ title, labels, eventSeq: 2 ** 40 });
        s.emit('session.title', { title });
      });

      expect(await ctx.sessions.getById(session.id)).toMatchObject({
        title,
        labels,
        eventSeq: 2 ** 40,
        logSeq: 2,
      });
      expect(await ctx.events.range(session.id, 0, 10, 10)).toEqual(done?.events);
      expect(done?.events[0].event).toMatchObject({ title });
    });

    it('should roll the whole unit back when the write sent with the COMMIT fails, and the error surface as before', async () => {
      const session = await ctx.newSession({ logSeq: 3 });
      const { statements, error } = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async (s) => {
          s.patch({ title: 'changed' });
          await s.upsertItems([itemFactory()]);
          // jsonb refuses `\u0000`: the log's statement fails (22P05, a 4xx for the filter).
          s.emit('session.title', { title: 'a\u0000b' });
        }),
      );

      expect(error).toBeInstanceOf(QueryFailedError);
      expect((error as QueryFailedError).driverError).toMatchObject({ code: '22P05' });
      expect(statements.map((sql) => sql.split(/\s/)[0])).toEqual([
        'START',
        'INSERT',
        'WITH',
        'ROLLBACK',
      ]);
      expect(await ctx.sessions.getById(session.id)).toMatchObject({
        title: session.title,
        logSeq: 3,
      });
      expect(await count('items', [session.id])).toBe(0);
      expect(await count('session_event_log', [session.id])).toBe(0);
      // The connection went back to the pool usable.
      await ctx.sessions.withLockedSession(session.id, async (s) => s.patch({ title: 'after' }));
      expect(await ctx.sessions.getById(session.id)).toMatchObject({ title: 'after' });
    });

    it('should send a value a literal cannot carry (a NUL) as a parameter, apart from the COMMIT, failing as before', async () => {
      const session = await ctx.newSession();
      const { statements, error } = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async (s) => {
          s.patch({ title: 'a\0b' });
          s.emit('session.status', { status: 'idle' });
        }),
      );

      // 22021: a NUL in text, which the exception filter answers as a request error.
      expect((error as QueryFailedError).driverError).toMatchObject({ code: '22021' });
      expect(statements).toHaveLength(3);
      expect(statements[1]).toMatch(/^WITH [\s\S]*u AS \(UPDATE "sessions"[\s\S]*FROM u$/);
      expect(statements[2]).toBe('ROLLBACK');
      expect(await ctx.sessions.getById(session.id)).toMatchObject({ title: session.title });
    });

    it("should write insertItems' items in the log's statement: two round trips in all", async () => {
      const session = await ctx.newSession({ logSeq: 2 });
      const first = await ctx.newItem(session.id);
      const item = itemFactory();
      const { statements, value: done } = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async (s) => {
          s.patch({ liveStatus: 'running' });
          s.insertItems([item]);
          s.emit('session.input.consumed', {
            data: { item_id: item.id, type: 'message', data: item.data, created_by: null },
          });
        }),
      );
      expect(statements).toHaveLength(2);
      expect(statements[1]).toMatch(
        /^WITH stored AS \(INSERT INTO items[\s\S]*u AS \(UPDATE "sessions"[\s\S]*; COMMIT$/,
      );
      expect(done?.events.map((e) => [e.seq, e.event.type])).toEqual([
        [3, 'session.input.consumed'],
      ]);
      expect(await ctx.sessions.getById(session.id)).toMatchObject({
        liveStatus: 'running',
        logSeq: 3,
      });
      // After the items already there, searchable like any message.
      const stored = await ctx.items.listAll(session.id, 10);
      expect(stored.map((i) => i.id)).toEqual([first.id, item.id]);
      expect(stored[1]).toMatchObject({ response_id: item.response_id, data: item.data });
    });

    it("should write emitItem's items in the log's statement, each event with its stored row's created_at", async () => {
      const session = await ctx.newSession({ logSeq: 1 });
      const existing = await ctx.newItem(session.id);
      await ctx.dataSource.query(
        `UPDATE items SET created_at = now() - interval '2 days' WHERE session_id = $1`,
        [session.id],
      );
      const fresh = itemFactory();
      const { statements, value: done } = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async (s) => {
          s.emit('session.status', { status: 'running' });
          s.emitItem(fresh);
          // The same item again (a runner's update of it): the row keeps its created_at.
          s.emitItem({ ...existing, status: 'incomplete' });
          s.emit('session.status', { status: 'idle' });
        }),
      );

      expect(statements).toHaveLength(2);
      expect(statements[1]).toMatch(/^WITH stored AS \(INSERT INTO items[\s\S]*; COMMIT$/);
      const stored = await ctx.items.listAll(session.id, 10);
      expect(stored.map((i) => [i.id, i.status])).toEqual([
        [existing.id, 'incomplete'],
        [fresh.id, fresh.status],
      ]);
      expect(stored[0].created_at).toBeLessThan(stored[1].created_at - 86_400);
      expect(done?.events.map((e) => [e.seq, e.event.type])).toEqual([
        [2, 'session.status'],
        [3, 'response.output_item.done'],
        [4, 'response.output_item.done'],
        [5, 'session.status'],
      ]);
      const items = done!.events
        .slice(1, 3)
        .map((e) => (e.event as unknown as { item: FlatItem }).item);
      expect(items.map((i) => [i.id, i.created_at])).toEqual([
        [fresh.id, stored[1].created_at],
        [existing.id, stored[0].created_at],
      ]);
      // What was published is what was logged.
      expect(await ctx.events.range(session.id, 0, 100, 100)).toEqual(done?.events);
    });

    it('should drop the event of an emitItem whose id belongs to another item, the seqs closing up', async () => {
      const session = await ctx.newSession({ logSeq: 4 });
      const existing = await ctx.newItem(session.id);
      const clash = itemFactory({ id: existing.id, response_id: newId(IdPrefix.Response) });

      const done = await ctx.sessions.withLockedSession(session.id, async (s) => {
        s.patch({ title: 'kept' });
        s.emit('session.status', { status: 'running' });
        s.emitItem(clash);
        s.emit('session.status', { status: 'idle' });
      });

      expect(done?.events.map((e) => [e.seq, e.event.type])).toEqual([
        [5, 'session.status'],
        [6, 'session.status'],
      ]);
      expect(await ctx.events.range(session.id, 0, 100, 100)).toEqual(done?.events);
      expect(await ctx.sessions.getById(session.id)).toMatchObject({ title: 'kept', logSeq: 6 });
      expect(await ctx.items.listAll(session.id, 10)).toEqual([
        expect.objectContaining({ id: existing.id, response_id: existing.response_id }),
      ]);
    });

    it('should write more than MAX_ITEMS_WITH_LOG emitItem items apart, first (a backlog)', async () => {
      const session = await ctx.newSession();
      const existing = await ctx.newItem(session.id);
      const clash = itemFactory({ id: existing.id, response_id: newId(IdPrefix.Response) });
      const items = Array.from({ length: MAX_ITEMS_WITH_LOG }, () => itemFactory());
      const { statements, value: done } = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async (s) => {
          [clash, ...items].forEach((item) => s.emitItem(item));
        }),
      );

      expect(statements).toHaveLength(3);
      expect(statements[1]).toMatch(/^INSERT INTO items[\s\S]*RETURNING/);
      expect(statements[2]).toMatch(/; COMMIT$/);
      const stored = await ctx.items.listAll(session.id, 100);
      expect(done?.events.map((e) => e.seq)).toEqual(items.map((_, i) => i + 1));
      expect(
        done?.events.map((e) => (e.event as unknown as { item: FlatItem }).item.created_at),
      ).toEqual(stored.slice(1).map((i) => i.created_at));
    });

    it('should send a large last write as a parameter, apart from the COMMIT', async () => {
      const session = await ctx.newSession();
      const title = 'x'.repeat(40_000);
      const { statements, value: done } = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async (s) => {
          s.emit('session.title', { title });
        }),
      );

      expect(statements).toHaveLength(3);
      expect(statements[1]).toMatch(/FROM u$/);
      expect(statements[2]).toBe('COMMIT');
      expect(await ctx.events.range(session.id, 0, 10, 10)).toEqual(done?.events);
    });

    it('should roll the unit back when an insertItems id belongs to another item', async () => {
      const session = await ctx.newSession();
      const existing = await ctx.newItem(session.id);
      const clash = itemFactory({ id: existing.id, response_id: newId(IdPrefix.Response) });

      const { statements, error } = await statementsOf(() =>
        ctx.sessions.withLockedSession(session.id, async (s) => {
          s.patch({ title: 'changed' });
          s.insertItems([clash, itemFactory()]);
          s.emit('session.status', { status: 'running' });
        }),
      );

      // The statement's own check fails it (the COMMIT sent with it never runs).
      expect(error).toEqual(
        new Error(`Items of session ${session.id} not stored: an id belongs to another item`),
      );
      expect(statements).toHaveLength(3);
      expect(statements[1]).toMatch(/; COMMIT$/);
      expect(statements[2]).toBe('ROLLBACK');
      expect(await count('items', [session.id])).toBe(1);

      expect(await ctx.sessions.getById(session.id)).toMatchObject({
        title: session.title,
        logSeq: 0,
      });
      expect(await count('session_event_log', [session.id])).toBe(0);
      expect((await ctx.items.listAll(session.id, 10))[0]).toMatchObject({
        response_id: existing.response_id,
      });
    });

    it('should store insertItems items of a unit that logs nothing', async () => {
      const session = await ctx.newSession();
      const item = itemFactory();

      await ctx.sessions.withLockedSession(session.id, async (s) => s.insertItems([item]));

      expect((await ctx.items.listAll(session.id, 10)).map((i) => i.id)).toEqual([item.id]);
    });

    it('should take the id as data: an id with quotes locks nothing and runs nothing', async () => {
      const work = jest.fn();
      await expect(
        ctx.sessions.withLockedSession(`x' OR true OR id = '`, work),
      ).resolves.toBeNull();
      await expect(
        ctx.sessions.withLockedSession(`x\\'; DROP TABLE sessions; --`, work),
      ).resolves.toBeNull();
      expect(work).not.toHaveBeenCalled();
    });
  });

  describe('getWithItemCount', () => {
    it('should read the session and how many items it holds; null for an unknown id', async () => {
      const session = await ctx.newSession();
      const other = await ctx.newSession();
      await ctx.newItem(session.id);
      await ctx.newItem(session.id);
      await ctx.newItem(other.id);

      await expect(ctx.sessions.getWithItemCount(session.id)).resolves.toEqual({
        session: await ctx.sessions.getById(session.id),
        itemCount: 2,
      });
      await expect(ctx.sessions.getWithItemCount(newId(IdPrefix.Session))).resolves.toBeNull();
    });
  });

  describe('createWithAgent', () => {
    it('should insert the session and its session-scoped agent', async () => {
      const fields = sessionFactory();
      const agent = agentFactory({
        id: fields.agentId,
        ownerSessionId: fields.id,
        ownerId: fields.ownerId,
      });

      const created = await createSession(fields, agent);

      expect(created).toMatchObject({ id: fields.id, agentId: agent.id, liveStatus: 'idle' });
      expect(await ctx.agents.getById(agent.id)).toMatchObject({ ownerSessionId: fields.id });
    });

    it('should insert a session on an existing agent alone', async () => {
      const agent = await ctx.newAgent();
      const fields = sessionFactory({ agentId: agent.id });

      await createSession(fields);

      expect(await ctx.sessions.getById(fields.id)).toMatchObject({ agentId: agent.id });
    });

    it('should not keep the agent when the session cannot be inserted', async () => {
      const existing = await ctx.newSession();
      const agent = agentFactory({ ownerSessionId: existing.id });

      await expect(
        createSession(sessionFactory({ id: existing.id, agentId: agent.id }), agent),
      ).rejects.toThrow();

      expect(await ctx.agents.getById(agent.id)).toBeNull();
    });
  });

  describe('session quota', () => {
    it("should refuse a create or a fork once the owner has the quota's sessions", async () => {
      const owner = factory.userId();
      const { id: agentId } = await ctx.newAgent();
      const first = await createSession(sessionFactory({ ownerId: owner, agentId }));
      await createSession(sessionFactory({ ownerId: owner, agentId }));
      const third = sessionFactory({ ownerId: owner, agentId });

      await expect(ctx.sessions.createWithAgent(third, 2)).resolves.toBeNull();
      await expect(
        ctx.sessions.fork(
          sessionFactory({ ownerId: owner, agentId: first.agentId }),
          { sessionId: first.id, upToPosition: null },
          2,
        ),
      ).resolves.toBeNull();
      expect(await ctx.sessions.getById(third.id)).toBeNull();
      // Another user is not affected.
      await expect(
        ctx.sessions.createWithAgent(sessionFactory({ agentId }), 2),
      ).resolves.not.toBeNull();
    });

    it('should not overshoot the quota under concurrent creates of one user', async () => {
      const owner = factory.userId();
      const { id: agentId } = await ctx.newAgent();
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          ctx.sessions.createWithAgent(sessionFactory({ ownerId: owner, agentId }), 3),
        ),
      );

      expect(results.filter((r) => r !== null)).toHaveLength(3);
      const rows: { n: number }[] = await ctx.dataSource.query(
        `SELECT count(*)::int AS n FROM sessions WHERE owner_id = $1`,
        [owner],
      );
      expect(rows[0].n).toBe(3);
    });
  });

  describe('fork', () => {
    it('should copy the items up to a position and share a catalog agent', async () => {
      const source = await ctx.newSession();
      const first = await ctx.newItem(source.id);
      await ctx.newItem(source.id, { data: messageData('assistant', 'one') });
      await ctx.newItem(source.id);
      const upTo = await ctx.items.lastPositionOfResponse(source.id, first.response_id);
      const fields = sessionFactory({ agentId: source.agentId, ownerId: factory.userId() });

      const fork = await forkSession(fields, { sessionId: source.id, upToPosition: upTo });

      expect(fork).toMatchObject({ id: fields.id, agentId: source.agentId });
      expect((await ctx.items.listAll(fork.id, 10)).map((i) => i.id)).toEqual([first.id]);
    });

    it("should copy a session-scoped agent, with its bundle, as the fork's", async () => {
      const owner = factory.userId();
      const sourceFields = sessionFactory({ ownerId: owner });
      const sourceAgent = agentFactory({
        id: sourceFields.agentId,
        ownerSessionId: sourceFields.id,
        ownerId: owner,
        bundle: Buffer.from('bundle bytes'),
      });
      const source = await createSession(sourceFields, sourceAgent);
      await ctx.newItem(source.id);
      const original = await ctx.agents.getById(sourceAgent.id);
      const fields = sessionFactory({
        agentId: newId(IdPrefix.Agent),
        ownerId: factory.userId(),
      });

      await forkSession(fields, {
        sessionId: source.id,
        upToPosition: null,
        cloneAgent: original ?? undefined,
      });

      expect(await ctx.agents.getById(fields.agentId)).toMatchObject({
        name: sourceAgent.name,
        ownerSessionId: fields.id,
        ownerId: fields.ownerId,
      });
      expect(await ctx.agents.getBundle(fields.agentId)).toEqual(Buffer.from('bundle bytes'));
      expect(await count('items', [fields.id])).toBe(1);
    });

    it('should leave nothing behind when the fork cannot be inserted', async () => {
      const source = await ctx.newSession();
      await ctx.newItem(source.id);
      const original = await ctx.agents.getById(source.agentId);
      const clash = sessionFactory({ id: source.id, agentId: newId(IdPrefix.Agent) });

      await expect(
        forkSession(clash, {
          sessionId: source.id,
          upToPosition: null,
          cloneAgent: original ?? undefined,
        }),
      ).rejects.toThrow();

      expect(await ctx.agents.getById(clash.agentId)).toBeNull();
      expect(await count('items', [source.id])).toBe(1);
    });
  });

  describe('deleteTree', () => {
    it('should delete a session, its sub-agent sessions and their own agents, and return them', async () => {
      const owner = factory.userId();
      const rootFields = sessionFactory({ ownerId: owner });
      const rootAgent = agentFactory({ id: rootFields.agentId, ownerSessionId: rootFields.id });
      const root = await createSession(rootFields, rootAgent);
      const child = await ctx.newSession({
        ownerId: owner,
        kind: 'sub_agent',
        parentSessionId: root.id,
      });
      const kept = await ctx.newSession({ ownerId: owner });
      for (const session of [root, child, kept]) {
        await ctx.newItem(session.id);
        await ctx.sessions.withLockedSession(session.id, async (s) =>
          s.emit('session.status', { status: 'idle' }),
        );
      }

      const removed = await ctx.sessions.deleteTree(root.id);

      expect(removed.map((s) => s.id).sort()).toEqual([root.id, child.id].sort());
      expect(await count('sessions', [root.id, child.id])).toBe(0);
      expect(await count('items', [root.id, child.id])).toBe(0);
      expect(await count('session_event_log', [root.id, child.id])).toBe(0);
      expect(await count('agents', [rootAgent.id])).toBe(0);
      expect(await count('sessions', [kept.id])).toBe(1);
      expect(await count('items', [kept.id])).toBe(1);
    });

    it('should keep a session-scoped agent another session still runs on', async () => {
      const fields = sessionFactory();
      const agent = agentFactory({ id: fields.agentId, ownerSessionId: fields.id });
      const owner = await createSession(fields, agent);
      const user = await ctx.newSession({ agentId: agent.id });

      await ctx.sessions.deleteTree(owner.id);

      expect(await count('agents', [agent.id])).toBe(1);
      expect(await count('sessions', [user.id])).toBe(1);
    });

    it('should delete nothing for an unknown id', async () => {
      await expect(ctx.sessions.deleteTree(newId(IdPrefix.Session))).resolves.toEqual([]);
    });
  });

  describe('ItemsRepository.insertMany', () => {
    it('should store items of a session in one go, in order', async () => {
      const session = await ctx.newSession();
      const items = [itemFactory(), itemFactory({ data: messageData('assistant', 'hi') })];

      const stored = await ctx.items.insertMany(session.id, items);

      expect(stored.map((i) => i.id)).toEqual(items.map((i) => i.id));
      expect((await ctx.items.listAll(session.id, 10)).map((i) => i.id)).toEqual(
        items.map((i) => i.id),
      );
    });
  });
});
