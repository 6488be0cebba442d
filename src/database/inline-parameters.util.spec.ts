import { inlineParameters, sqlLiteral } from 'src/database/inline-parameters.util';

describe('sqlLiteral', () => {
  it('should quote text, doubling quotes, and use E-syntax with doubled backslashes', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(sqlLiteral("a\\'b")).toBe("E'a\\\\''b'");
    expect(sqlLiteral('')).toBe("''");
  });

  it('should write scalars as node-postgres sends them as parameters', () => {
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral(undefined)).toBe('NULL');
    expect(sqlLiteral(42)).toBe("'42'");
    expect(sqlLiteral(2 ** 40)).toBe("'1099511627776'");
    expect(sqlLiteral(10n)).toBe("'10'");
    expect(sqlLiteral(true)).toBe("'true'");
    expect(sqlLiteral(new Date(Date.UTC(2026, 11, 3, 18, 0, 0, 5)))).toBe(
      "'2026-12-03T18:00:00.005Z'",
    );
    expect(sqlLiteral(Buffer.from([0, 255]))).toBe("E'\\\\x00ff'");
  });

  it('should refuse what a literal cannot carry or node-postgres would convert itself', () => {
    expect(sqlLiteral('a\0b')).toBeNull();
    expect(sqlLiteral({ a: 1 })).toBeNull();
    expect(sqlLiteral([1])).toBeNull();
    expect(sqlLiteral(new Date(NaN))).toBeNull();
  });
});

describe('inlineParameters', () => {
  it('should replace each $n by its literal once, $10 not read as $1', () => {
    const params = Array.from({ length: 10 }, (_, i) => `v${i + 1}`);
    params[0] = '$2';
    expect(inlineParameters('SELECT $1, $10, $2::jsonb', params)).toBe(
      "SELECT '$2', 'v10', 'v2'::jsonb",
    );
  });

  it('should be null when a value cannot be inlined or a parameter has no value', () => {
    expect(inlineParameters('SELECT $1', ['a\0'])).toBeNull();
    expect(inlineParameters('SELECT $1, $2', ['a'])).toBeNull();
    expect(inlineParameters('SELECT 1', [])).toBe('SELECT 1');
    expect(inlineParameters('SELECT $1, $2', ['abc', 'de'], 4)).toBeNull();
    expect(inlineParameters('SELECT $1, $2', ['abc', 'd'], 4)).toBe("SELECT 'abc', 'd'");
  });
});
