import { request as httpRequest } from 'node:http';

import fc from 'fast-check';

/**
 * Hostile HTTP requests for the fuzz suite (test/e2e/fuzz.e2e-spec.ts), generated from the live
 * OpenAPI document: every path and query parameter, header parameter and request body schema of
 * every route. Bodies are generated as JSON *text*, so they can carry what JSON.stringify cannot
 * build (duplicate and `__proto__` keys, 1e400, 20,000-level nesting, malformed text).
 */

type Schema = Record<string, unknown>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

interface Operation {
  parameters?: {
    name: string;
    in: 'path' | 'query' | 'header';
    required?: boolean;
    schema?: Schema;
  }[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
}

export interface Target {
  method: string;
  /** The OpenAPI path, `{name}` placeholders included. */
  path: string;
  operation: Operation;
}

/** Values the fixture provides for path parameters: the caller's own resources and others'. */
export interface Fixture {
  /** Path parameter name → known-good values (own ids first). */
  ids: Record<string, string[]>;
  /** Words a valid request would use: event and item types, roles, agent ids, item ids… */
  words: string[];
  /** Prepared multipart bundles (valid, garbage, hostile names). */
  bundles: Buffer[];
  /**
   * Valid JSON bodies by route (`POST /v1/sessions`), mutated one leaf at a time so that most
   * requests get past validation into services and the database. Optional.
   */
  samples: Record<string, unknown[]>;
}

export type Caller = 'owner' | 'other' | 'anonymous' | 'bad-token';

export interface FuzzRequest {
  method: string;
  /** Raw request target, already percent-encoded (it may hold deliberately broken escapes). */
  path: string;
  caller: Caller;
  headers: Record<string, string>;
  body?: Buffer;
  /** The OpenAPI route this request was generated for. */
  route: string;
}

export interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

// ---------------------------------------------------------------------------------------------
// Strings

const UNSAFE_UNITS = ['\u0000', '\ud800', '\udbff', '\udc00', '\udfff'];
const ODD_UNITS = ['\ufffe', '\uffff', '\u202e', '\u200b', '\r', '\n', '\t', '%', '\\', '"', "'"];
const PROTOTYPE_WORDS = [
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

const NUMBER_TOKENS = [
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

const text = (value: string) => JSON.stringify(value);

/** `arb` with probability `present`, else null (fc.option only expresses nil as 1/freq). */
function sometimes<T>(arb: fc.Arbitrary<T>, present: number): fc.Arbitrary<T | null> {
  const weight = Math.round(present * 100);
  return fc.oneof(
    { weight, arbitrary: arb },
    { weight: 100 - weight, arbitrary: fc.constant(null) },
  );
}
const objectText = (entries: [string, string][]) =>
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

function resolve(schema: Schema | undefined, doc: OpenApiDocument): Schema {
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
function mutatedSample(samples: unknown[], words: string[]): fc.Arbitrary<string> {
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
// Requests

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Percent-encodes the UTF-8 bytes of any string (lone surrogates become U+FFFD, as on the wire). */
export function percentEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const BROKEN_ESCAPES = ['%', '%G0', '%FF', '%ED%A0%80', '%C0%AF', '%00', '%2e%2e%2f'];

function pathValue(name: string, fixture: Fixture): fc.Arbitrary<string> {
  const known = fixture.ids[name] ?? [];
  return fc.oneof(
    ...(known.length > 0 ? [{ weight: 8, arbitrary: fc.constantFrom(...known) }] : []),
    { weight: 2, arbitrary: hostileString(fixture.words, 6_000).map(percentEncode) },
    { weight: 1, arbitrary: fc.constantFrom(...BROKEN_ESCAPES) },
  );
}

function queryString(target: Target, fixture: Fixture, doc: OpenApiDocument): fc.Arbitrary<string> {
  const declared = (target.operation.parameters ?? []).filter((p) => p.in === 'query');
  const string = hostileString(fixture.words, 6_000);
  const pairs = fc.tuple(
    ...declared.map((param) => {
      const schema = resolve(param.schema, doc);
      const valid = Array.isArray(schema.enum)
        ? fc.constantFrom(...(schema.enum as string[]))
        : schema.type === 'integer'
          ? fc.oneof(
              fc.integer({ min: -5, max: 2000 }).map(String),
              fc.constantFrom(...NUMBER_TOKENS),
            )
          : schema.type === 'boolean'
            ? fc.constantFrom('true', 'false', '1', '0', 'yes')
            : string;
      return fc.option(
        fc
          .oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: string })
          .map((value) => `${param.name}=${percentEncode(value)}`),
        { freq: 2 },
      );
    }),
  );
  const extra = sometimes(
    fc.oneof(
      fc.tuple(string, string).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`),
      fc.constantFrom(...declared.map((p) => `${p.name}=1&${p.name}=2`), 'a[b][c][d]=1', 'x=%'),
      fc.constantFrom(...BROKEN_ESCAPES),
    ),
    0.15,
  );
  return fc.tuple(pairs, extra).map(([present, more]) => {
    const parts = [...present.filter((p): p is string => p !== null), ...(more ? [more] : [])];
    return parts.length > 0 ? `?${parts.join('&')}` : '';
  });
}

// Header values must be latin-1 without control characters, or Node refuses to send them.
const headerValue = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 80 }),
  fc.integer({ min: 100, max: 8000 }).map((n) => 'h'.repeat(n)),
  fc.constantFrom('runner_token_' + '0'.repeat(32), 'Bearer x', ''),
);

const MALFORMED_JSON = [
  '{',
  '{"a":}',
  '{"a" 1}',
  '[1,]',
  'nul',
  '{"a":1}x',
  '\ufeff{}',
  '"',
  '{"a":"\\x"}',
  '',
];
const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/xml',
  'application/json; charset=latin1',
  'application/json; charset=utf-16le',
  'application/merge-patch+json',
];

function multipartBody(metadata: string | null, bundle: Buffer | null, extra: string | null) {
  const boundary = 'fuzz-boundary-7e3a9c';
  const parts: Buffer[] = [];
  const part = (headers: string, content: Buffer) =>
    parts.push(Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), content, Buffer.from('\r\n'));
  if (metadata !== null) {
    part('Content-Disposition: form-data; name="metadata"', Buffer.from(metadata, 'utf8'));
  }
  if (bundle !== null) {
    part(
      'Content-Disposition: form-data; name="bundle"; filename="agent.tar.gz"\r\nContent-Type: application/gzip',
      bundle,
    );
  }
  if (extra !== null) {
    part(
      `Content-Disposition: form-data; name="${extra.replace(/["\r\n]/g, '')}"`,
      Buffer.from('x'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}

function bodyOf(target: Target, fixture: Fixture, doc: OpenApiDocument) {
  const content = target.operation.requestBody?.content ?? {};
  const json = content['application/json'];
  const samples = fixture.samples[`${target.method.toUpperCase()} ${target.path}`] ?? [];
  const generated = json
    ? objectJson(resolve(json.schema, doc), doc, fixture.words)
    : hostileJson(fixture.words);
  const dto =
    samples.length > 0
      ? fc.oneof(
          { weight: 5, arbitrary: mutatedSample(samples, fixture.words) },
          { weight: 2, arbitrary: generated },
        )
      : generated;
  const asJson = (
    arb: fc.Arbitrary<string>,
    types: fc.Arbitrary<string> = fc.constant('application/json'),
  ) =>
    fc
      .tuple(arb, types)
      .map(([body, contentType]) => ({ contentType, body: Buffer.from(body, 'utf8') }));
  const options = [
    { weight: 8, arbitrary: asJson(dto) },
    { weight: 2, arbitrary: asJson(hostileJson(fixture.words)) },
    { weight: 1, arbitrary: asJson(fc.constantFrom(...MALFORMED_JSON)) },
    { weight: 1, arbitrary: asJson(dto, fc.constantFrom(...CONTENT_TYPES)) },
  ];
  // Upstream's multipart create (api-reference §3.3): a JSON `metadata` part and a `bundle` file.
  if (content['multipart/form-data']) {
    options.push({
      weight: 4,
      arbitrary: fc
        .tuple(
          sometimes(
            fc.oneof(dto, hostileJson(fixture.words), fc.constantFrom(...MALFORMED_JSON)),
            0.9,
          ),
          sometimes(fc.constantFrom(...fixture.bundles), 0.9),
          sometimes(fc.constantFrom('bundle', 'other', 'metadata'), 0.1),
        )
        .map(([metadata, bundle, extra]) => multipartBody(metadata, bundle, extra)),
    });
  }
  return sometimes(fc.oneof(...options), content['application/json'] ? 0.95 : 0.25);
}

type Part = 'path' | 'query' | 'headers' | 'body' | 'caller';

/** The same part of a request, kept valid: the caller's own ids, no query, a sample body. */
function validPart(part: Part, target: Target, fixture: Fixture) {
  const names = [...target.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  switch (part) {
    case 'path':
      return fc.tuple(
        ...names.map((name) => fc.constantFrom(...(fixture.ids[name] ?? ['x']).slice(0, 1))),
      );
    case 'query':
    case 'headers':
      return fc.constant(null);
    case 'caller':
      return fc.constant<Caller>('owner');
    case 'body': {
      const samples = fixture.samples[`${target.method.toUpperCase()} ${target.path}`] ?? [];
      const multipart = target.operation.requestBody?.content['multipart/form-data'];
      if (samples.length === 0 && !multipart) {
        return fc.constant(null);
      }
      if (samples.length === 0) {
        return fc.constant(multipartBody('{}', fixture.bundles[0], null));
      }
      return fc.constantFrom(...samples).map((sample) => ({
        contentType: 'application/json',
        body: Buffer.from(JSON.stringify(sample)),
      }));
    }
  }
}

/**
 * Every request the fuzz suite may send to one route. Most requests make one part hostile and
 * keep the others valid (so the hostile part reaches as deep as it can); some make every part
 * hostile at once.
 */
export function requestsFor(
  target: Target,
  fixture: Fixture,
  doc: OpenApiDocument,
): fc.Arbitrary<FuzzRequest> {
  const names = [...target.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const headerParams = (target.operation.parameters ?? []).filter((p) => p.in === 'header');
  const hasBody = ['post', 'patch', 'put'].includes(target.method);
  const hostile = {
    path: fc.tuple(...names.map((name) => pathValue(name, fixture))),
    query: queryString(target, fixture, doc),
    caller: fc.oneof(
      { weight: 10, arbitrary: fc.constant<Caller>('owner') },
      { weight: 1, arbitrary: fc.constantFrom<Caller>('other', 'anonymous', 'bad-token') },
    ),
    headers: fc.tuple(
      ...headerParams.map((p) =>
        sometimes(
          headerValue.map((v): [string, string] => [p.name, v]),
          0.7,
        ),
      ),
    ),
    body: hasBody ? bodyOf(target, fixture, doc) : fc.constant(null),
  };
  const pick = <K extends Part>(part: K, focus: Part | 'all' | 'none') =>
    (focus === part || focus === 'all'
      ? hostile[part]
      : validPart(part, target, fixture)) as (typeof hostile)[K];
  // Hostile parts where the route has them: bodies and queries carry the most text.
  const parts: [Part, number][] = [
    ['caller', 1],
    ['query', 3],
    ...(names.length > 0 ? [['path', 2] as [Part, number]] : []),
    ...(headerParams.length > 0 ? [['headers', 2] as [Part, number]] : []),
    ...(hasBody ? [['body', 6] as [Part, number]] : []),
  ];
  const focus = fc.oneof(
    { weight: 1, arbitrary: fc.constant<'none'>('none') },
    { weight: 2, arbitrary: fc.constant<'all'>('all') },
    ...parts.map(([part, weight]) => ({ weight, arbitrary: fc.constant<Part>(part) })),
  );
  return focus
    .chain((f) =>
      fc.record({
        values: pick('path', f),
        query: pick('query', f),
        caller: pick('caller', f),
        headers: pick('headers', f),
        body: pick('body', f),
      }),
    )
    .map(({ values, query, caller, headers, body }) => {
      let path = target.path;
      names.forEach((name, index) => (path = path.replace(`{${name}}`, values[index])));
      return {
        method: target.method.toUpperCase(),
        path: `${path}${query ?? ''}`,
        caller,
        headers: {
          ...Object.fromEntries((headers ?? []).filter((h): h is [string, string] => h !== null)),
          ...(body ? { 'Content-Type': body.contentType } : {}),
        },
        body: body?.body,
        route: `${target.method.toUpperCase()} ${target.path}`,
      };
    });
}

/**
 * Sends one request exactly as generated (no client-side normalisation of the path) and reads
 * the answer; a stream is cut after its headers.
 */
export function send(
  url: string,
  req: FuzzRequest,
  auth: Record<string, string>,
): Promise<FuzzResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: hostname,
        port,
        method: req.method,
        path: req.path,
        headers: {
          ...auth,
          ...req.headers,
          ...(req.body ? { 'Content-Length': String(req.body.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '' });
          return;
        }
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    outgoing.setTimeout(15_000, () => outgoing.destroy(new Error('no answer within 15 s')));
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}
