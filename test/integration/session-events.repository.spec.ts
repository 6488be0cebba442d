import { IdPrefix, newId } from 'src/common/ids/ids';
import { SessionEventsRepository } from 'src/modules/sessions/stream/session-events.repository';
import { RawStreamEvent } from 'src/protocol/stream-events';
import { describeIntegration } from 'test/integration/integration-context';

const statusEvent = (n: number): RawStreamEvent => ({
  type: 'session.status',
  status: 'running',
  n,
});

const events = (count: number, from = 0): RawStreamEvent[] =>
  Array.from({ length: count }, (_, i) => statusEvent(from + i));

describeIntegration(SessionEventsRepository.name, (ctx) => {
  const append = (sessionId: string, batch: RawStreamEvent[]) =>
    ctx.dataSource.transaction((m) => ctx.events.append(m, sessionId, batch));

  const loggedSeqs = async (sessionId: string) =>
    (await ctx.events.range(sessionId, 0, Number.MAX_SAFE_INTEGER, 10_000)).map((e) => e.seq);

  describe('append', () => {
    it('should assign contiguous seqs after log_seq and bump updated_at', async () => {
      const session = await ctx.newSession();
      const past = new Date('2020-01-01T00:00:00Z');
      await ctx.sessions.update(session.id, { logSeq: 7, updatedAt: past });

      const logged = await ctx.dataSource.transaction(async (m) => [
        ...(await ctx.events.append(m, session.id, events(2))),
        ...(await ctx.events.append(m, session.id, events(3, 2))),
      ]);

      expect(logged).toEqual(events(5).map((event, i) => ({ seq: 8 + i, event })));
      await expect(ctx.events.currentSeq(session.id)).resolves.toBe(12);
      await expect(ctx.events.range(session.id, 0, 100, 100)).resolves.toEqual(logged);
      const after = await ctx.sessions.getById(session.id);
      expect(after?.logSeq).toBe(12);
      expect(after?.updatedAt.getTime()).toBeGreaterThan(past.getTime());
    });

    it('should log nothing when the transaction rolls back', async () => {
      const session = await ctx.newSession();
      await append(session.id, events(1));

      await expect(
        ctx.dataSource.transaction(async (m) => {
          await ctx.events.append(m, session.id, events(2, 1));
          throw new Error('persisting the item failed');
        }),
      ).rejects.toThrow('persisting the item failed');

      await expect(ctx.events.currentSeq(session.id)).resolves.toBe(1);
      await expect(loggedSeqs(session.id)).resolves.toEqual([1]);
      await expect(append(session.id, events(1, 3))).resolves.toEqual([
        { seq: 2, event: statusEvent(3) },
      ]);
    });

    it('should log nothing for no events or an unknown session', async () => {
      const session = await ctx.newSession();
      const unknown = newId(IdPrefix.Session);

      await expect(append(session.id, [])).resolves.toEqual([]);
      await expect(append(unknown, events(1))).resolves.toEqual([]);
      await expect(ctx.events.currentSeq(session.id)).resolves.toBe(0);
      await expect(ctx.events.currentSeq(unknown)).resolves.toBeNull();
      await expect(ctx.events.oldestSeq(unknown)).resolves.toBeNull();
    });

    it('should give 20 concurrent transactions the seqs 1..20 without gaps or repeats', async () => {
      const session = await ctx.newSession();

      const results = await Promise.all(events(20).map((event) => append(session.id, [event])));

      const seqs = results.map((r) => r[0].seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const log = await ctx.events.range(session.id, 0, 20, 100);
      expect(log).toEqual(results.map((r) => r[0]).sort((a, b) => a.seq - b.seq));
      await expect(ctx.events.currentSeq(session.id)).resolves.toBe(20);
    });
  });

  describe('range', () => {
    let sessionId: string;

    beforeAll(async () => {
      sessionId = (await ctx.newSession()).id;
      await append(sessionId, events(10));
    });

    it('should return the events with after < seq <= upTo in order', async () => {
      await expect(ctx.events.range(sessionId, 3, 8, 100)).resolves.toEqual(
        [4, 5, 6, 7, 8].map((seq) => ({ seq, event: statusEvent(seq - 1) })),
      );
    });

    it('should stop at the limit', async () => {
      const logged = await ctx.events.range(sessionId, 3, 8, 2);

      expect(logged.map((e) => e.seq)).toEqual([4, 5]);
    });

    it('should return nothing past the end or for an empty range', async () => {
      await expect(ctx.events.range(sessionId, 10, 20, 100)).resolves.toEqual([]);
      await expect(ctx.events.range(sessionId, 5, 5, 100)).resolves.toEqual([]);
    });
  });

  describe('oldestSeq', () => {
    it('should return the oldest seq still logged', async () => {
      const session = await ctx.newSession();
      await expect(ctx.events.oldestSeq(session.id)).resolves.toBeNull();

      await append(session.id, events(3));

      await expect(ctx.events.oldestSeq(session.id)).resolves.toBe(1);
    });
  });

  describe('prune', () => {
    // The PostgreSQL database is shared with concurrent test files: a retention this high
    // leaves their (short) logs alone.
    const retention = 100;

    it('should keep the newest events of each session and leave shorter logs alone', async () => {
      const long = await ctx.newSession();
      const exact = await ctx.newSession();
      const short = await ctx.newSession();
      await append(long.id, events(retention + 20));
      await append(exact.id, events(retention));
      await append(short.id, events(retention - 10));

      const pruned = await ctx.events.prune(retention);

      expect(pruned).toBeGreaterThanOrEqual(20);
      await expect(ctx.events.oldestSeq(long.id)).resolves.toBe(21);
      await expect(loggedSeqs(long.id)).resolves.toEqual(
        Array.from({ length: retention }, (_, i) => i + 21),
      );
      await expect(ctx.events.oldestSeq(exact.id)).resolves.toBe(1);
      await expect(loggedSeqs(exact.id)).resolves.toHaveLength(retention);
      await expect(ctx.events.oldestSeq(short.id)).resolves.toBe(1);
      await expect(loggedSeqs(short.id)).resolves.toHaveLength(retention - 10);
      await expect(append(long.id, events(1))).resolves.toEqual([
        { seq: retention + 21, event: statusEvent(0) },
      ]);
    });
  });
});
