import { request as httpRequest } from 'node:http';

import fc from 'fast-check';

import { mutatedSample, objectJson, resolve } from 'test/e2e/fuzz-bodies';
import { hostileJson, hostileString, NUMBER_TOKENS, sometimes } from 'test/e2e/fuzz-values';

/**
 * Hostile HTTP requests for the fuzz suite (test/e2e/fuzz.e2e-spec.ts), generated from the live
 * OpenAPI document: every path and query parameter, header parameter and request body schema of
 * every route. Bodies are generated as JSON *text*, so they can carry what JSON.stringify cannot
 * build (duplicate and `__proto__` keys, 1e400, 20,000-level nesting, malformed text).
 */

export type Schema = Record<string, unknown>;

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
