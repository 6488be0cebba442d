import { Header } from '@nestjs/common';

/**
 * The handler returns its body as JSON text already serialised (e.g. built by PostgreSQL on a
 * read path, issue 12): Express sends the string as is, under the JSON content type `res.json`
 * would have set, with the same strong ETag. Document the response with its DTO as usual.
 */
export function JsonText(): MethodDecorator {
  return Header('Content-Type', 'application/json; charset=utf-8');
}
