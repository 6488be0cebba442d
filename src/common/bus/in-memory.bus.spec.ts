import { InMemoryBus } from 'src/common/bus/in-memory.bus';

describe(InMemoryBus.name, () => {
  it('should deliver to every subscriber of a channel, in order, and stop after unsubscribe', () => {
    const bus = new InMemoryBus();
    const a: unknown[] = [];
    const b: unknown[] = [];
    const offA = bus.subscribe('s:1', (m) => a.push(m));
    bus.subscribe('s:1', (m) => b.push(m));
    bus.subscribe('s:2', () => b.push('wrong channel'));
    bus.publish('s:1', 1);
    bus.publish('s:1', 2);
    offA();
    bus.publish('s:1', 3);
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1, 2, 3]);
  });

  it('should keep delivering when one handler throws', () => {
    const bus = new InMemoryBus();
    const got: unknown[] = [];
    bus.subscribe('c', () => {
      throw new Error('boom');
    });
    bus.subscribe('c', (m) => got.push(m));
    bus.publish('c', 'x');
    expect(got).toEqual(['x']);
    expect(bus.subscriberCount('c')).toBe(2);
  });

  describe('channel$', () => {
    it('should subscribe on subscribe and leave the channel on unsubscribe', () => {
      const bus = new InMemoryBus();
      const got: unknown[] = [];
      const channel$ = bus.channel$('s:1');
      bus.publish('s:1', 'before');
      expect(bus.subscriberCount('s:1')).toBe(0);
      const subscription = channel$.subscribe((m) => got.push(m));
      bus.publish('s:1', 'during');
      subscription.unsubscribe();
      bus.publish('s:1', 'after');
      expect(got).toEqual(['during']);
      expect(bus.subscriberCount('s:1')).toBe(0);
    });
  });
});
