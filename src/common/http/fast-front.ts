import { IncomingMessage, Server, ServerResponse } from 'node:http';

import type { Express, Request, Response } from 'express';

import type { FastLane, LaneHit } from 'src/common/http/fast-lane.middleware';

/** A middleware as Express calls it. */
export type EdgeMiddleware = (req: Request, res: Response, next: (error?: unknown) => void) => void;

export interface FastFrontOptions {
  /** The Express app Nest serves through: the server's request listener, its prototypes. */
  app: Express;
  lane: Pick<FastLane, 'take' | 'answer' | 'fail'>;
  /**
   * The middleware Express runs before the lane for a GET without a body, in Express's order
   * (request id, metrics, helmet's headers, CORS). Each calls `next()` without an error.
   */
  edges: EdgeMiddleware[];
  /**
   * Middleware that may refuse such a request (the input guard): run before anything is set;
   * a refusal hands the request to Express untouched, which refuses it the same way.
   */
  checks: EdgeMiddleware[];
}

/** What the front did (tests read it to know which path served a request). */
export interface FastFrontCounters {
  served: number;
  passed: number;
}

/**
 * Answers the fast lane's routes from the HTTP server's `request` listener, before Express's
 * router walks its middleware stack (issue 12). It prepares the request as `app.handle` and the
 * router do (circular references, Express's prototypes, `locals`, `baseUrl`, `originalUrl`,
 * `body`), runs the same middleware functions Express would run for it, in the same order, and
 * ends in `FastLane.answer`. The middleware Express would skip or pass through for such a
 * request (the console's `/ui` mounts; the JSON parser, for a request without a body) is not
 * called. Anything else (another method or path, a body, a refused query) goes to Express.
 */
export function frontRequests(server: Server, options: FastFrontOptions): FastFrontCounters {
  const { app, lane, edges, checks } = options;
  const express = app as unknown as (req: IncomingMessage, res: ServerResponse) => void;
  const listeners = server.listeners('request');
  if (listeners.length !== 1 || listeners[0] !== express) {
    throw new Error('frontRequests: the server must have the Express app as its only listener');
  }
  const counters: FastFrontCounters = { served: 0, passed: 0 };
  const refused = (req: Request, res: Response): boolean => {
    let refusal = false;
    for (const check of checks) {
      check(req, res, (error) => {
        refusal ||= error !== undefined;
      });
    }
    return refusal;
  };
  const front = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    if (incoming.method !== 'GET' || hasBody(incoming)) {
      counters.passed++;
      express(incoming, outgoing);
      return;
    }
    const req = incoming as Request;
    const res = outgoing as Response;
    let hit: LaneHit | null;
    try {
      // `app.handle`'s preparation, once the path is the lane's (Express does it again,
      // harmlessly, for a request it is handed).
      hit = lane.take(req, () => {
        req.res = res;
        res.req = req;
        Object.setPrototypeOf(req, app.request);
        Object.setPrototypeOf(res, app.response);
        res.locals ??= Object.create(null) as Response['locals'];
      });
      hit = hit && !refused(req, res) ? hit : null;
    } catch {
      // What throws here throws again in Express's router, which answers it (this listener
      // must never throw: the server would not catch it).
      hit = null;
    }
    if (!hit) {
      counters.passed++;
      express(req, res);
      return;
    }
    const answering = hit;
    counters.served++;
    // The router's (a mount at `/`) and the JSON parser's (no body: `body` stays undefined).
    req.baseUrl = '';
    req.originalUrl = req.url;
    if (!Reflect.has(req, 'body')) {
      req.body = undefined;
    }
    let at = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined) {
        lane.fail(error, req, res);
        return;
      }
      // As Express's router does: an edge that throws is an error passed on (to the filter).
      try {
        if (at < edges.length) {
          edges[at++](req, res, next);
        } else {
          lane.answer(answering, req, res);
        }
      } catch (thrown) {
        lane.fail(thrown, req, res);
      }
    };
    next();
  };
  server.removeListener('request', express);
  server.on('request', front);
  return counters;
}

/** type-is's `hasBody`, which the JSON parser asks first. */
function hasBody(req: IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    !Number.isNaN(Number(req.headers['content-length']))
  );
}
