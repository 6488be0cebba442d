import { busyShare, machineTicks } from 'bench/bench-process';

/**
 * The turns bench reports how busy the whole machine was while one session's turns ran
 * (bench/suite/turns.ts): well under 100 % says the turn is a chain of waiting hops. Here, not
 * in test/bench: the guard's Jest run holds the guard alone.
 */
describe('bench/bench-process machineTicks', () => {
  it('reads busy and total ticks of the whole machine', () => {
    const ticks = machineTicks();
    expect(ticks.total).toBeGreaterThan(0);
    expect(ticks.busy).toBeGreaterThan(0);
    expect(ticks.busy).toBeLessThanOrEqual(ticks.total);
  });

  it('gives the busy share of a window, between 0 and 1, and NaN for an empty one', () => {
    const from = machineTicks();
    // Busy for a few clock ticks (10 ms each), so the window holds some.
    const until = Date.now() + 120;
    while (Date.now() < until) {
      // spin
    }
    const share = busyShare(from, machineTicks());
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThanOrEqual(1);
    expect(busyShare(from, from)).toBeNaN();
  });
});
