import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';

import type { SseFrame } from 'test/utils/sse-client';

/**
 * Contract checks against upstream's openapi.json (spec/README.md §2): response bodies and stream
 * events must validate against the component schemas the upstream Python client parses with.
 */

type JsonSchema = Record<string, unknown> & {
  properties?: Record<string, unknown>;
  required?: string[];
};

interface Discriminated {
  oneOf: { $ref: string }[];
  discriminator: { propertyName: string; mapping: Record<string, string> };
}

const DOCUMENT_ID = 'https://omnigent.test/contract/omnigent-openapi.json';
const REF_PREFIX = '#/components/schemas/';

// Read at run time rather than imported: type-checking a 500 KB JSON literal is slow.
const openapi = JSON.parse(readFileSync(join(__dirname, 'omnigent-openapi.json'), 'utf8')) as {
  components: { schemas: Record<string, JsonSchema> };
};
const schemas = openapi.components.schemas;

// strict is off: the document carries OpenAPI keywords ajv does not know. `discriminator` is
// declared as a plain annotation because ajv's own support refuses `mapping`; the union is
// resolved by hand in expectStreamEvent instead.
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addKeyword({ keyword: 'discriminator', schemaType: 'object' });
// Only `components` is registered: `#/components/schemas/X` refs resolve inside this document.
ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas } });

const validators = new Map<string, ValidateFunction>();

function validatorFor(schemaName: string): ValidateFunction {
  let validate = validators.get(schemaName);
  if (!validate) {
    if (!schemas[schemaName]) {
      throw new Error(`openapi.json has no component schema '${schemaName}'`);
    }
    validate = ajv.getSchema(`${DOCUMENT_ID}${REF_PREFIX}${schemaName}`);
    if (!validate) {
      throw new Error(`ajv could not compile component schema '${schemaName}'`);
    }
    validators.set(schemaName, validate);
  }
  return validate;
}

function formatErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const params = Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : '';
      return `  - ${e.instancePath || '(root)'} ${e.message ?? e.keyword}${params} [${e.schemaPath}]`;
    })
    .join('\n');
}

function preview(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/** Throws, with ajv's errors listed, unless value validates against `components.schemas[name]`. */
export function expectValid(schemaName: string, value: unknown): void {
  const validate = validatorFor(schemaName);
  if (!validate(value)) {
    throw new Error(
      `value does not match upstream schema ${schemaName}:\n${formatErrors(validate.errors)}\n` +
        `value: ${preview(value)}`,
    );
  }
}

/** The property names a component schema declares. */
export function declaredProperties(schemaName: string): string[] {
  if (!schemas[schemaName]) {
    throw new Error(`openapi.json has no component schema '${schemaName}'`);
  }
  return Object.keys(schemas[schemaName].properties ?? {});
}

/** The `ServerStreamEvent` variant a `type` maps to, or undefined for a type outside the union. */
export function streamEventSchemaName(type: unknown): string | undefined {
  const union = schemas.ServerStreamEvent as unknown as Discriminated;
  const ref = typeof type === 'string' ? union.discriminator.mapping[type] : undefined;
  return ref?.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : undefined;
}

/** Every stream event `type` of the union (the discriminator's mapping). */
export function streamEventTypes(): string[] {
  return Object.keys((schemas.ServerStreamEvent as unknown as Discriminated).discriminator.mapping);
}

/**
 * A session stream event must validate against its `ServerStreamEvent` variant (picked by `type`)
 * and carry every property that variant declares, because upstream serialises every field,
 * nulls included (spec/api-reference.md §1.1).
 */
export function expectStreamEvent(event: unknown): void {
  const type = (event as { type?: unknown } | null)?.type;
  const variant = streamEventSchemaName(type);
  if (!variant) {
    throw new Error(
      `stream event type ${JSON.stringify(type)} is not in ServerStreamEvent: ${preview(event)}`,
    );
  }
  expectValid(variant, event);
  const missing = declaredProperties(variant).filter(
    (key) => !(key in (event as Record<string, unknown>)),
  );
  if (missing.length > 0) {
    throw new Error(
      `stream event ${String(type)} (${variant}) lacks declared properties ` +
        `${missing.join(', ')}: ${preview(event)}`,
    );
  }
}

/**
 * Every frame of a session stream is a valid upstream ServerStreamEvent (expectStreamEvent),
 * sent under its own type as the SSE `event:` name.
 */
export function expectValidStream(stream: { frames: SseFrame[] }): void {
  for (const frame of stream.frames) {
    if (frame.json) {
      expect(frame.event).toBe(frame.json.type);
      expectStreamEvent(frame.json);
    }
  }
}
