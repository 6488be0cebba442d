import { UsageError } from 'src/cli/cli-command';
import { parseDuration } from 'src/cli/duration.util';

describe(parseDuration.name, () => {
  it('should read a number with a unit', () => {
    expect(parseDuration('30m')).toBe(1800);
    expect(parseDuration('12h')).toBe(43_200);
    expect(parseDuration('7d')).toBe(604_800);
    expect(parseDuration('45s')).toBe(45);
  });

  it('should refuse a bare number instead of reading it as seconds', () => {
    expect(() => parseDuration('5')).toThrow(UsageError);
    expect(() => parseDuration('5')).toThrow('add a unit: 5s, 5m, 5h or 5d');
  });

  it.each(['forever', '0h', '-1h', '1w', '', '400d'])('should refuse %p', (value) => {
    expect(() => parseDuration(value)).toThrow(UsageError);
  });
});
