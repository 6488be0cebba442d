import { ValidationDetail } from 'src/common/errors/error-body';
import {
  capDetail,
  capDetailEntry,
  cutText,
  DETAIL_CAPS,
  previewInput,
} from 'src/common/validation/detail-cap.util';

const entry = (input: unknown, extra: Partial<ValidationDetail> = {}): ValidationDetail => ({
  loc: ['body', 'title'],
  msg: 'title must be a string',
  type: 'string_type',
  input,
  ...extra,
});

describe('detail-cap.util', () => {
  describe(cutText.name, () => {
    it('should leave short text alone and mark cut text', () => {
      expect(cutText('abc', 3)).toBe('abc');
      expect(cutText('abcd', 3)).toBe('abc…');
    });

    it('should never split a surrogate pair', () => {
      expect(cutText('ab👍cd', 3)).toBe('ab…');
    });
  });

  describe(previewInput.name, () => {
    it('should echo small inputs unchanged', () => {
      const input = { role: 'user', content: [{ type: 'input_text', text: 'hi' }], n: 1, ok: true };
      expect(previewInput(input)).toEqual(input);
      expect(previewInput(null)).toBeNull();
      expect(previewInput(undefined)).toBeNull();
    });

    it('should echo at most ~1 KB of a 100 KB string', () => {
      const preview = previewInput('x'.repeat(100_000)) as string;
      expect(preview.length).toBeLessThanOrEqual(DETAIL_CAPS.INPUT_MAX_STRING + 1);
      expect(preview.endsWith('…')).toBe(true);
    });

    it('should bound wide, deep and many-string values', () => {
      const wide = Object.fromEntries(
        Array.from({ length: 10_000 }, (_, i) => [`key${i}`, 'v'.repeat(1000)]),
      );
      const deep = JSON.parse(`${'{"a":'.repeat(50)}1${'}'.repeat(50)}`) as unknown;
      const long = Array.from({ length: 10_000 }, () => 'y'.repeat(100));
      for (const input of [wide, deep, long, { wide, deep, long }]) {
        expect(JSON.stringify(previewInput(input)).length).toBeLessThan(
          2 * DETAIL_CAPS.INPUT_BUDGET,
        );
      }
    });

    it('should keep a __proto__ key as data without touching the prototype', () => {
      const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
      const preview = previewInput(parsed) as Record<string, unknown>;
      expect(Object.getPrototypeOf(preview)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(JSON.parse(JSON.stringify(preview))).toEqual(parsed);
    });

    it('should serialise dates and bigints safely', () => {
      const date = new Date(0);
      expect(previewInput({ date })).toEqual({ date: date.toISOString() });
      expect(previewInput(10n)).toBe('10');
    });
  });

  describe(capDetailEntry.name, () => {
    it('should cut long loc parts, long locs and long messages', () => {
      const key = 'k'.repeat(10_000);
      const capped = capDetailEntry(
        entry('x', {
          loc: ['body', key, ...Array.from({ length: 100 }, (_, i) => i)],
          msg: `property ${key} should not exist`,
        }),
      );
      expect(capped.loc.length).toBe(DETAIL_CAPS.LOC_MAX_PARTS + 1);
      expect(String(capped.loc[1]).length).toBeLessThanOrEqual(DETAIL_CAPS.LOC_PART_MAX + 1);
      expect(capped.msg.length).toBeLessThanOrEqual(DETAIL_CAPS.MSG_MAX + 1);
    });

    it('should not add an input the entry did not have', () => {
      const { input: _input, ...noInput } = entry('x');
      expect(capDetailEntry(noInput)).not.toHaveProperty('input');
    });
  });

  describe(capDetail.name, () => {
    it('should keep at most MAX_ENTRIES entries', () => {
      const detail = Array.from({ length: 500 }, () => entry('x'));
      expect(capDetail(detail)).toHaveLength(DETAIL_CAPS.MAX_ENTRIES);
    });

    it('should stop once the list is about LIST_BUDGET characters, keeping the first entry', () => {
      const big = entry({ a: 'z'.repeat(100_000) }, { msg: 'm'.repeat(100_000) });
      const capped = capDetail(Array.from({ length: 50 }, () => big));
      expect(capped.length).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(capped).length).toBeLessThanOrEqual(DETAIL_CAPS.LIST_BUDGET);
    });
  });
});
