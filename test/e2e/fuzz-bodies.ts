import fc from 'fast-check';

import type { OpenApiDocument, Schema } from 'test/e2e/fuzz-requests';
import {
  hostileJson,
  hostileString,
  NUMBER_TOKENS,
  objectText,
  PROTOTYPE_WORDS,
  sometimes,
  text,
} from 'test/e2e/fuzz-values';

/**
 * Request bodies for the fuzz suite from the OpenAPI schemas, as JSON text: mostly what each
 * schema asks for, with hostile values, extra keys and mutated samples.
 */

export function resolve(schema: Schema | undefined, doc: OpenApiDocument): Schema {
  let current = schema ?? {};
  for (let hops = 0; hops < 10; hops += 1) {
    const ref =
      (current.$ref as string | undefined) ??
      ((current.allOf as Schema[] | undefined)?.[0]?.$ref as string | undefined);
    if (!ref) {
      break;
    }
    current = {
      ...doc.components.schemas[ref.split('/').pop() as string],
      nullable: current.nullable,
    };
  }
  return current;
}

/** A value for one schema as JSON text: mostly what it asks for, sometimes anything at all. */
function schemaJson(
  schema: Schema | undefined,
  doc: OpenApiDocument,
  words: string[],
  depth: number,
): fc.Arbitrary<string> {
  const s = resolve(schema, doc);
  const anything = hostileJson(words);
  const valid = validJson(s, doc, words, depth);
  return fc.oneof(
    { weight: 10, arbitrary: valid },
    { weight: 1, arbitrary: anything },
    { weight: 1, arbitrary: fc.constant('null') },
  );
}

function validJson(
  s: Schema,
  doc: OpenApiDocument,
  words: string[],
  depth: number,
): fc.Arbitrary<string> {
  const string = hostileString(words);
  if (Array.isArray(s.enum)) {
    return fc.constantFrom(...(s.enum as unknown[]).map((v) => JSON.stringify(v)));
  }
  switch (s.type) {
    case 'string': {
      const max = typeof s.maxLength === 'number' ? s.maxLength : undefined;
      return max
        ? fc.oneof(
            string.map(text),
            fc.constantFrom(max, max + 1).map((n) => text('s'.repeat(n))),
          )
        : string.map(text);
    }
    case 'integer':
    case 'number': {
      const min = typeof s.minimum === 'number' ? s.minimum : -1_000_000;
      const max = typeof s.maximum === 'number' ? s.maximum : 1_000_000;
      return fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min, max }).map(String) },
        { weight: 1, arbitrary: fc.constantFrom(min - 1, max + 1).map(String) },
        { weight: 1, arbitrary: fc.constantFrom(...NUMBER_TOKENS) },
      );
    }
    case 'boolean':
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('true', 'false') },
        { weight: 1, arbitrary: fc.constantFrom('"true"', '1') },
      );
    case 'array':
      return depth > 3
        ? fc.constant('[]')
        : fc
            .array(schemaJson(s.items as Schema, doc, words, depth + 1), { maxLength: 3 })
            .map((items) => `[${items.join(',')}]`);
    case 'object':
    default:
      if (s.properties && depth <= 3) {
        return objectJson(s, doc, words, depth + 1);
      }
      if (s.additionalProperties && typeof s.additionalProperties === 'object') {
        return fc
          .array(
            fc.tuple(string, schemaJson(s.additionalProperties as Schema, doc, words, depth + 1)),
            {
              maxLength: 4,
            },
          )
          .map(objectText);
      }
      return hostileJson(words);
  }
}

/** A request DTO as JSON text: each declared field maybe present, plus hostile extra keys. */
export function objectJson(
  s: Schema,
  doc: OpenApiDocument,
  words: string[],
  depth = 0,
): fc.Arbitrary<string> {
  const properties = Object.entries((s.properties ?? {}) as Record<string, Schema>);
  const required = new Set((s.required ?? []) as string[]);
  // Required fields are nearly always there, optional ones now and then: most bodies must get
  // past validation for the fuzz to reach services and the database.
  const fields = fc.tuple(
    ...properties.map(([name, property]) =>
      sometimes(
        schemaJson(property, doc, words, depth).map((value): [string, string] => [name, value]),
        required.has(name) ? 0.92 : 0.3,
      ),
    ),
  );
  const extra = fc.array(
    fc.tuple(
      fc.oneof(hostileString(words), fc.constantFrom(...PROTOTYPE_WORDS)),
      hostileJson(words),
    ),
    { maxLength: 2 },
  );
  return fc
    .tuple(fields, extra)
    .map(([present, more]) =>
      objectText([...present.filter((f): f is [string, string] => f !== null), ...more]),
    );
}

/** How many leaves (scalars and empty containers) a JSON value has. */
function leafCount(value: unknown): number {
  if (value !== null && typeof value === 'object') {
    const children = Object.values(value);
    return children.length === 0 ? 1 : children.reduce<number>((n, c) => n + leafCount(c), 0);
  }
  return 1;
}

/** JSON text of `value` with leaf number `target` replaced by the text `replacement`. */
function renderWith(value: unknown, target: number, replacement: string, seen = { n: 0 }): string {
  if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
    if (Array.isArray(value)) {
      return `[${value.map((item) => renderWith(item, target, replacement, seen)).join(',')}]`;
    }
    return objectText(
      Object.entries(value).map(([k, v]) => [k, renderWith(v, target, replacement, seen)]),
    );
  }
  const mine = seen.n === target;
  seen.n += 1;
  return mine ? replacement : JSON.stringify(value);
}

/** A valid sample as is, with one leaf made hostile, or with one hostile key added. */
export function mutatedSample(samples: unknown[], words: string[]): fc.Arbitrary<string> {
  const leaf = fc.oneof(
    { weight: 4, arbitrary: hostileString(words).map(text) },
    { weight: 1, arbitrary: hostileJson(words) },
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...samples).map((sample) => JSON.stringify(sample)) },
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.constantFrom(...samples), fc.nat(), leaf)
        .map(([sample, pick, replacement]) =>
          renderWith(sample, pick % leafCount(sample), replacement),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...samples),
          fc.oneof(hostileString(words), fc.constantFrom(...PROTOTYPE_WORDS)),
          leaf,
        )
        .map(([sample, key, value]) => {
          const body = JSON.stringify(sample);
          return body.startsWith('{') && body !== '{}'
            ? `{${text(key)}:${value},${body.slice(1)}`
            : `{${text(key)}:${value}}`;
        }),
    },
  );
}

// ---------------------------------------------------------------------------------------------
