import { createHash } from 'node:crypto';

import type { Response } from 'express';

/** A read path's answer: its strong ETag, and its JSON text (null: 304, the client has it). */
export interface JsonReply {
  etag: string;
  json: string | null;
}

function digest(text: string): string {
  return createHash('sha1').update(text).digest('base64url').slice(0, 22);
}

/** The ETag of an answer identified by a version key (`v…`): short, strong, quoted. */
export function versionEtag(key: string): string {
  return `"v${digest(key)}"`;
}

/** The ETag of an answer without a version key, from its bytes (`b…`). */
export function bodyEtag(json: string): string {
  return `"b${digest(json)}"`;
}

/**
 * Whether `If-None-Match` names `etag` (RFC 9110 §13.1.2: weak comparison, a list, or `*`).
 */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) {
    return false;
  }
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}

/** An answer built (or found) under `etag`: null JSON when the client already has it. */
export function jsonReply(etag: string, json: string, ifNoneMatch?: string): JsonReply {
  return { etag, json: etagMatches(ifNoneMatch, etag) ? null : json };
}

/**
 * Sends a JsonReply from a handler with `@Res({ passthrough: true })`: sets the ETag (Express
 * keeps an ETag already set instead of hashing the body) and answers 304 itself, without a
 * body, when the reply has none.
 */
export function sendJsonReply(res: Response, reply: JsonReply): string | undefined {
  res.setHeader('ETag', reply.etag);
  if (reply.json === null) {
    res.status(304);
    return undefined;
  }
  return reply.json;
}
