import { PresenceRegistry, PresenceViewer } from 'src/modules/sessions/presence/presence-registry';

const GRACE = 1000;
const T0 = Date.parse('2026-06-10T17:00:00.000Z');

describe(PresenceRegistry.name, () => {
  let registry: PresenceRegistry;
  let viewers: PresenceViewer[][];
  let local: PresenceViewer[][];
  const at = (ms: number) => new Date(T0 + ms).toISOString();

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    viewers = [];
    local = [];
    registry = new PresenceRegistry({
      graceMs: GRACE,
      now: () => new Date(),
      onViewers: (root, list) => root === 'root' && viewers.push(list),
      onLocal: (root, list) => root === 'root' && local.push(list),
    });
  });
  afterEach(() => jest.useRealTimers());

  describe('join', () => {
    it('should list each user once, by join time, and tell of joins', () => {
      registry.join('root', 'bob', false);
      jest.advanceTimersByTime(10);
      registry.join('root', 'alice', false);
      registry.join('root', 'bob', false);

      expect(registry.viewers('root')).toEqual([
        { user_id: 'bob', joined_at: at(0), idle: false },
        { user_id: 'alice', joined_at: at(10), idle: false },
      ]);
      expect(viewers).toHaveLength(2);
      expect(local).toEqual(viewers);
      expect(registry.viewers('other')).toEqual([]);
    });

    it('should mark a user idle only when every stream they hold is idle', () => {
      registry.join('root', 'alice', true);
      const leaveActive = registry.join('root', 'alice', false);
      expect(registry.viewers('root')[0].idle).toBe(false);

      leaveActive();
      expect(registry.viewers('root')[0].idle).toBe(true);
      expect(viewers.map((list) => list[0].idle)).toEqual([true, false, true]);
    });
  });

  describe('leave', () => {
    it('should keep a user who left for the grace window, then tell of the leave', () => {
      const leave = registry.join('root', 'alice', false);
      registry.join('root', 'bob', false);
      leave();
      leave();
      jest.advanceTimersByTime(GRACE - 1);
      expect(registry.viewers('root').map((v) => v.user_id)).toEqual(['alice', 'bob']);

      jest.advanceTimersByTime(1);
      expect(registry.viewers('root').map((v) => v.user_id)).toEqual(['bob']);
      expect(viewers.map((list) => list.length)).toEqual([1, 2, 1]);
    });

    it('should keep joined_at and say nothing when the user reconnects within the window', () => {
      const leave = registry.join('root', 'alice', false);
      jest.advanceTimersByTime(GRACE / 2);
      leave();
      registry.join('root', 'alice', false);
      jest.advanceTimersByTime(GRACE * 2);

      expect(registry.viewers('root')).toEqual([
        { user_id: 'alice', joined_at: at(0), idle: false },
      ]);
      expect(viewers).toHaveLength(1);
    });

    it('should tell of an idle flip made by reconnecting with the new value', () => {
      const leave = registry.join('root', 'alice', false);
      leave();
      registry.join('root', 'alice', true);

      expect(viewers.map((list) => list[0].idle)).toEqual([false, true]);
    });

    it('should tell the other replicas that it has no viewers left', () => {
      registry.join('root', 'alice', false)();
      jest.advanceTimersByTime(GRACE);
      expect(local.at(-1)).toEqual([]);
      expect(registry.roots()).toEqual([]);
    });
  });

  describe('setRemote', () => {
    it("should merge other replicas' viewers: earliest joined_at, idle only if idle everywhere", () => {
      jest.advanceTimersByTime(50);
      registry.join('root', 'alice', true);
      registry.setRemote(
        'root',
        'replica-b',
        [
          { user_id: 'alice', joined_at: at(0), idle: true },
          { user_id: 'carol', joined_at: at(20), idle: false },
        ],
        T0 + 10_000,
      );
      expect(registry.viewers('root')).toEqual([
        { user_id: 'alice', joined_at: at(0), idle: true },
        { user_id: 'carol', joined_at: at(20), idle: false },
      ]);
      // What other replicas report is not reported back.
      expect(local).toHaveLength(1);

      registry.setRemote('root', 'replica-b', [], T0 + 10_000);
      expect(registry.viewers('root')).toEqual([
        { user_id: 'alice', joined_at: at(50), idle: true },
      ]);
    });

    it('should drop what a replica stopped repeating', () => {
      registry.join('root', 'alice', false);
      registry.setRemote(
        'root',
        'replica-b',
        [{ user_id: 'carol', joined_at: at(0), idle: false }],
        T0 + 100,
      );
      registry.expire(T0 + 99);
      expect(registry.viewers('root')).toHaveLength(2);

      registry.expire(T0 + 100);
      expect(registry.viewers('root').map((v) => v.user_id)).toEqual(['alice']);
    });
  });
});
