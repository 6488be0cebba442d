import { Type } from '@nestjs/common';
import { ApiBody, type SchemaObject } from '@nestjs/swagger';

/**
 * The request body with the example /docs sends by default ("Try it out"). The example must be a
 * body the route accepts as is: test/e2e/openapi-examples.e2e-spec.ts sends every one of them.
 */
export function BodyExample(
  typeOrSchema: Type<unknown> | SchemaObject,
  value: unknown,
  description?: string,
) {
  const examples = { default: { summary: 'Example', value } };
  return typeof typeOrSchema === 'function'
    ? ApiBody({ type: typeOrSchema, description, examples })
    : ApiBody({ schema: typeOrSchema, description, examples });
}
