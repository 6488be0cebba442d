import { firstValueFrom, take, toArray } from 'rxjs';

import { LOCAL_PRINCIPAL } from 'src/common/auth/auth-principal';
import { EventBus } from 'src/common/bus/event-bus';
import { InMemoryBus } from 'src/common/bus/in-memory.bus';
import { presenceChannel, PresenceService } from 'src/modules/sessions/presence/presence.service';
import { factory, sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

describe(PresenceService.name, () => {
  let t: TestService<PresenceService>;
  let bus: InMemoryBus;
  const alice = factory.auth();
  const root = sessionEntityFactory({ ownerId: alice.userId });
  const child = sessionEntityFactory({ parentSessionId: root.id, rootSessionId: root.id });
  const channel = presenceChannel(root.id);

  beforeEach(() => {
    bus = new InMemoryBus();
    t = newTestService(PresenceService, {
      env: { OMNIGENT_PRESENCE_GRACE_MS: '0' },
      overrides: new Map<unknown, unknown>([[EventBus, bus]]),
    });
  });
  afterEach(() => {
    jest.useRealTimers();
    t.sut.onApplicationShutdown();
  });

  describe('seat', () => {
    it('should seat no local user and no runner', () => {
      expect(t.sut.seat(LOCAL_PRINCIPAL, root, false)).toBeNull();
      expect(t.sut.seat({ ...alice, kind: 'runner' }, root, false)).toBeNull();
    });

    it('should share one list across the tree, each stream with its own conversation id', async () => {
      const onRoot = t.sut.seat(alice, root, false);
      const bob = { ...factory.auth(), userId: 'bob' };
      const onChild = t.sut.seat(bob, child, true);
      const seen = firstValueFrom(onRoot!.changes$.pipe(take(2), toArray()));
      // Viewers are listed by joined_at, then user id: bob joins a millisecond later.
      jest.useFakeTimers({ now: new Date('2026-12-03T10:00:00.000Z') });
      onRoot!.join();
      jest.setSystemTime(new Date('2026-12-03T10:00:00.001Z'));
      onChild!.join();

      const [, joined] = await seen;
      expect(joined).toMatchObject({
        type: 'session.presence',
        conversation_id: root.id,
        viewers: [
          { user_id: alice.userId, idle: false },
          { user_id: 'bob', idle: true },
        ],
      });
      expect(onChild!.current()).toMatchObject({
        conversation_id: child.id,
        viewers: (joined as { viewers: unknown }).viewers,
      });
    });
  });

  describe('across replicas', () => {
    it("should publish its viewers, answer a newcomer's hello, and merge the others'", async () => {
      const published: { type: string; viewers?: { user_id: string }[] }[] = [];
      bus.subscribe(channel, (m) => published.push(m as (typeof published)[number]));
      const seat = t.sut.seat(alice, root, false)!;
      seat.join();
      await bus.subscribed();
      await Promise.resolve();
      expect(published.map((m) => m.type)).toEqual(['viewers', 'hello']);

      bus.publish(channel, { type: 'hello', replica: 'replica-b' });
      expect(published.at(-1)).toMatchObject({
        type: 'viewers',
        viewers: [{ user_id: alice.userId }],
      });

      const joined_at = new Date(0).toISOString();
      bus.publish(channel, {
        type: 'viewers',
        replica: 'replica-b',
        viewers: [{ user_id: 'carol', joined_at, idle: false }],
      });
      expect(seat.current()).toMatchObject({
        viewers: [{ user_id: 'carol', joined_at }, { user_id: alice.userId }],
      });
    });

    it('should leave the channel and say so once its last viewer left', () => {
      jest.useFakeTimers();
      const published: { type: string; viewers?: unknown[] }[] = [];
      bus.subscribe(channel, (m) => published.push(m as (typeof published)[number]));
      const leave = t.sut.seat(alice, root, false)!.join();
      expect(bus.subscriberCount(channel)).toBe(2);

      leave();
      jest.advanceTimersByTime(0);

      expect(published.at(-1)).toEqual({
        type: 'viewers',
        replica: expect.any(String),
        viewers: [],
      });
      expect(bus.subscriberCount(channel)).toBe(1);
    });
  });
});
