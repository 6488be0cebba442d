import fc from 'fast-check';

/**
 * Hostile values for the fuzz suite (test/e2e/fuzz-requests.ts): strings a client may send or
 * should not, and any JSON value as *text* (duplicate and `__proto__` keys, 1e400, deep nesting).
 */

// ---------------------------------------------------------------------------------------------
// Strings

const UNSAFE_UNITS = ['\u0000', '\ud800', '\udbff', '\udc00', '\udfff'];
const ODD_UNITS = ['\ufffe', '\uffff', '\u202e', '\u200b', '\r', '\n', '\t', '%', '\\', '"', "'"];
export const PROTOTYPE_WORDS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '__defineGetter__',
];
const ATTACK_WORDS = [
  '../../../../etc/passwd',
  "' OR 1=1 --",
  '"; DROP TABLE sessions; --',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '%00',
  '%ED%A0%80',
  '\\u0000',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1e400',
  ' ',
  '',
];

// Any code point, unpaired surrogates aside: strings a client may legitimately send.
const storableUnit = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_UNITS) },
);

/** Storable strings: odd Unicode, attack and prototype words, words a valid request uses. */
export function cleanString(words: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...words, ...PROTOTYPE_WORDS, ...ATTACK_WORDS) },
    { weight: 4, arbitrary: fc.string({ unit: storableUnit, maxLength: 24 }) },
  );
}

/**
 * Strings: mostly storable, sometimes with a NUL or an unpaired surrogate, sometimes huge.
 * `maxHuge` keeps query strings under the header limit, so most of them reach the route.
 */
export function hostileString(words: string[], maxHuge = 300_000): fc.Arbitrary<string> {
  const clean = cleanString(words);
  return fc.oneof(
    { weight: 5, arbitrary: clean },
    {
      weight: 3,
      arbitrary: fc
        .tuple(clean, fc.constantFrom(...UNSAFE_UNITS), clean)
        .map((parts) => parts.join('')),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: maxHuge }).map((n) => 'x'.repeat(n)) },
  );
}

// ---------------------------------------------------------------------------------------------
// JSON text

export const NUMBER_TOKENS = [
  '0',
  '-0',
  '1',
  '-1',
  '0.5',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '123456789012345678901234567890',
  '2147483648',
  '-2147483649',
];

export const text = (value: string) => JSON.stringify(value);

/** `arb` with probability `present`, else null (fc.option only expresses nil as 1/freq). */
export function sometimes<T>(arb: fc.Arbitrary<T>, present: number): fc.Arbitrary<T | null> {
  const weight = Math.round(present * 100);
  return fc.oneof(
    { weight, arbitrary: arb },
    { weight: 100 - weight, arbitrary: fc.constant(null) },
  );
}
export const objectText = (entries: [string, string][]) =>
  `{${entries.map(([key, value]) => `${text(key)}:${value}`).join(',')}}`;

/** Any JSON value as text: hostile strings, odd numbers, nesting (deep enough to hit the cap). */
export function hostileJson(words: string[]): fc.Arbitrary<string> {
  const string = hostileString(words);
  const leaf = fc.oneof(
    { weight: 6, arbitrary: string.map(text) },
    { weight: 2, arbitrary: fc.constantFrom(...NUMBER_TOKENS) },
    { weight: 1, arbitrary: fc.integer().map(String) },
    { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null') },
    {
      weight: 1,
      arbitrary: sometimes(
        fc
          .constantFrom(2, 10, 63, 64, 65, 66, 200, 20_000)
          .map((n) => '['.repeat(n) + ']'.repeat(n)),
        0.3,
      ).map((deep) => deep ?? '[]'),
    },
  );
  const key = fc.oneof(string, fc.constantFrom(...PROTOTYPE_WORDS));
  const { value } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      tie('array'),
      tie('object'),
    ),
    array: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    object: fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map(objectText),
  }));
  return value;
}
