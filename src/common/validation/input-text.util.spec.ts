import {
  DEFAULT_JSON_MAX_DEPTH,
  findUnsafeInput,
  guardUntypedInput,
  isUnsafeText,
  UNSAFE_TEXT_MESSAGE,
} from 'src/common/validation/input-text.util';
import { RequestValidationError } from 'src/common/validation/request-validation.error';

function nested(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < levels; level += 1) {
    value = { a: value };
  }
  return value;
}

describe('input-text.util', () => {
  describe(isUnsafeText.name, () => {
    it.each([
      ['a NUL', 'a\u0000b'],
      ['a lone high surrogate', 'a\ud800b'],
      ['a high surrogate at the end', 'ab\udbff'],
      ['a lone low surrogate', '\udc00x'],
      ['two high surrogates', '\ud800\ud800\udc00'],
    ])('should flag %s', (_name, text) => {
      expect(isUnsafeText(text)).toBe(true);
    });

    it.each([
      ['plain text', 'hello'],
      ['an emoji (a surrogate pair)', 'ok 👍 done'],
      ['other control characters', '\u0001\u001f\t\n'],
      ['U+FFFD and noncharacters', '\ufffd\uffff'],
      ['the empty string', ''],
    ])('should accept %s', (_name, text) => {
      expect(isUnsafeText(text)).toBe(false);
    });
  });

  describe(findUnsafeInput.name, () => {
    it('should name the field of a bad string value', () => {
      expect(findUnsafeInput({ title: 'x\u0000', labels: { ok: 'fine' } }, ['body'])).toEqual([
        {
          loc: ['body', 'title'],
          msg: UNSAFE_TEXT_MESSAGE,
          type: 'string_unicode',
          input: 'x\u0000',
        },
      ]);
    });

    it('should report array indexes as numbers and keys as strings', () => {
      const found = findUnsafeInput(
        { data: { content: [{ text: 'ok' }, { text: '\ud800' }] }, labels: { 'k\u0000': 'v' } },
        ['body'],
      );
      expect(found.map((d) => d.loc)).toEqual([
        ['body', 'data', 'content', 1, 'text'],
        ['body', 'labels', 'k\u0000'],
      ]);
    });

    it('should accept a clean value, numbers, booleans and nulls', () => {
      expect(findUnsafeInput({ a: [1, true, null, 'x', { b: '👍' }] }, ['body'])).toEqual([]);
      expect(findUnsafeInput(undefined, ['body'])).toEqual([]);
    });

    it('should check a bare string', () => {
      expect(findUnsafeInput('\u0000', ['query', 'after'])).toHaveLength(1);
    });

    it('should accept exactly the depth limit and refuse one level more', () => {
      expect(findUnsafeInput(nested(DEFAULT_JSON_MAX_DEPTH), ['body'])).toEqual([]);
      const [tooDeep] = findUnsafeInput(nested(DEFAULT_JSON_MAX_DEPTH + 1), ['body']);
      expect(tooDeep).toMatchObject({
        type: 'json_invalid',
        msg: `JSON nested deeper than ${DEFAULT_JSON_MAX_DEPTH} levels`,
      });
      expect(tooDeep.loc).toHaveLength(1 + DEFAULT_JSON_MAX_DEPTH);
    });

    it('should honour another depth limit', () => {
      expect(findUnsafeInput(nested(8), ['body'], 8)).toEqual([]);
      expect(findUnsafeInput(nested(9), ['body'], 8)).toHaveLength(1);
    });

    it('should walk 100,000 levels without running out of stack', () => {
      expect(() => findUnsafeInput(nested(100_000), ['body'], 200_000)).not.toThrow();
    });

    it('should stop after ten findings', () => {
      const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, '\u0000']));
      expect(findUnsafeInput(many, ['body'])).toHaveLength(10);
    });

    it('should not walk buffers or class instances', () => {
      const buffer = Buffer.alloc(1024 * 1024);
      class Holder {
        text = '\u0000';
      }
      expect(findUnsafeInput({ buffer, holder: new Holder() }, ['body'])).toEqual([]);
    });

    it('should walk objects without a prototype (parsed query strings)', () => {
      const query = Object.assign(Object.create(null) as Record<string, unknown>, {
        search_query: 'a\u0000',
      });
      expect(findUnsafeInput(query, ['query'])[0].loc).toEqual(['query', 'search_query']);
    });

    it('should see a __proto__ key as data', () => {
      const parsed = JSON.parse('{"__proto__": {"x": "\\u0000"}}') as unknown;
      expect(findUnsafeInput(parsed, ['body'])[0].loc).toEqual(['body', '__proto__', 'x']);
    });
  });

  describe(guardUntypedInput.name, () => {
    it('should throw a 422 naming the field for unstorable text or too deep nesting', () => {
      expect(() => guardUntypedInput({ title: '\u0000' }, ['body', 'metadata'])).toThrow(
        RequestValidationError,
      );
      try {
        guardUntypedInput({ a: nested(100) }, ['body', 'metadata']);
      } catch (error) {
        expect((error as RequestValidationError).detail[0]).toMatchObject({ type: 'json_invalid' });
      }
      expect.assertions(2);
    });

    it('should remove prototype keys at every level, as the global pipe does for bodies', () => {
      const raw = JSON.parse(
        '{"constructor":"x","labels":{"constructor":"y","k":"v"},' +
          '"initial_items":[{"type":"message","__proto__":{"admin":true},"prototype":1}]}',
      ) as Record<string, unknown>;

      guardUntypedInput(raw, ['body', 'metadata']);

      expect(raw).toEqual({ labels: { k: 'v' }, initial_items: [{ type: 'message' }] });
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    });
  });
});
