import { jsonNestsDeeperThan } from 'src/common/validation/json-depth.util';

const raw = (text: string) => Buffer.from(text, 'utf8');

describe(jsonNestsDeeperThan.name, () => {
  it('should count objects and arrays together', () => {
    expect(jsonNestsDeeperThan(raw('{"a":[{"b":[1]}]}'), 4)).toBe(false);
    expect(jsonNestsDeeperThan(raw('{"a":[{"b":[1]}]}'), 3)).toBe(true);
  });

  it('should count depth, not the number of containers', () => {
    const wide = `[${Array.from({ length: 1000 }, () => '{"a":[]}').join(',')}]`;
    expect(jsonNestsDeeperThan(raw(wide), 3)).toBe(false);
  });

  it('should ignore brackets inside strings, escaped quotes included', () => {
    expect(jsonNestsDeeperThan(raw(`{"a":"${'[{'.repeat(100)}"}`), 2)).toBe(false);
    expect(jsonNestsDeeperThan(raw(`{"a":"\\"${'['.repeat(100)}"}`), 2)).toBe(false);
    expect(jsonNestsDeeperThan(raw('{"a":"\\\\"}'), 1)).toBe(false);
    expect(jsonNestsDeeperThan(raw('{"a":"\\\\",[[[1]]]}'), 3)).toBe(true);
  });

  it('should not misread multi-byte UTF-8', () => {
    expect(jsonNestsDeeperThan(raw('{"é👍":"[[[["}'), 1)).toBe(false);
  });

  it('should scan a 1 MiB hostile body quickly', () => {
    const half = 512 * 1024;
    const body = raw('['.repeat(half) + ']'.repeat(half));
    const started = process.hrtime.bigint();
    expect(jsonNestsDeeperThan(body, 64)).toBe(true);
    const flat = raw(`[${'1,'.repeat(half - 1)}1]`);
    expect(jsonNestsDeeperThan(flat, 64)).toBe(false);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
  });
});
