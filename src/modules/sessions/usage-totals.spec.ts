import { addUsage, pricedCostUsd } from 'src/modules/sessions/usage-totals';

describe(addUsage.name, () => {
  const day1 = new Date('2026-12-03T10:00:00Z');
  const day2 = new Date('2026-12-04T00:00:01Z');

  it('should add priced and unpriced turns apart and restart the day totals each UTC day', () => {
    const priced = addUsage(null, { input_tokens: 10, output_tokens: 5, cost_usd: 0.25 }, day1);
    expect(priced).toEqual({
      input_tokens: 10,
      output_tokens: 5,
      total_tokens: 15,
      cost_usd: 0.25,
      unpriced_tokens: 0,
      day: '2026-12-03',
      day_cost_usd: 0.25,
      day_unpriced_tokens: 0,
    });
    const unpriced = addUsage(priced, { input_tokens: 1, output_tokens: 1, total_tokens: 2 }, day1);
    expect(unpriced).toMatchObject({
      total_tokens: 17,
      unpriced_tokens: 2,
      day_unpriced_tokens: 2,
    });
    const nextDay = addUsage(unpriced, { total_tokens: 4, cost_usd: 1 }, day2);
    expect(nextDay).toMatchObject({
      total_tokens: 21,
      cost_usd: 1.25,
      unpriced_tokens: 2,
      day: '2026-12-04',
      day_cost_usd: 1,
      day_unpriced_tokens: 0,
    });
  });

  it('should ignore negative or non-numeric counts', () => {
    expect(
      addUsage(null, { input_tokens: -5, output_tokens: Number.NaN, cost_usd: -1 }, day1),
    ).toMatchObject({ total_tokens: 0, cost_usd: 0, unpriced_tokens: 0 });
  });
});

describe(pricedCostUsd.name, () => {
  const at = new Date('2026-12-03T10:00:00Z');

  it('should be null until a turn was priced, then the priced turns cost', () => {
    expect(pricedCostUsd(null)).toBeNull();
    const unpriced = addUsage(null, { total_tokens: 40 }, at);
    expect(pricedCostUsd(unpriced)).toBeNull();
    expect(pricedCostUsd(addUsage(unpriced, { total_tokens: 10, cost_usd: 0.5 }, at))).toBe(0.5);
    expect(pricedCostUsd(addUsage(null, { total_tokens: 0, cost_usd: 0 }, at))).toBe(0);
  });
});
