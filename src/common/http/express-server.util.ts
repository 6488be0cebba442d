import { createServer, IncomingMessage, ServerResponse } from 'node:http';

import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';

/**
 * Nest's Express adapter, whose HTTP server creates each request and response with Express's
 * prototypes (`app.request`, `app.response`) already theirs (issue 12). Express sets them on every
 * request it handles (`Object.setPrototypeOf` in `app.handle`, and the fast front for the lane's
 * routes); V8 then moves each object off the shapes it was built with, and every property stored
 * on it afterwards (`req.id`, `req.principal`, `req.route`, `baseUrl`, `originalUrl`, `locals`…)
 * took the slow path: ~6 % of a cached snapshot's CPU in the read paths' profile. With the
 * prototype set at birth, Express's own `setPrototypeOf` finds it in place and changes nothing.
 * The objects are the same `IncomingMessage`/`ServerResponse` (Node's constructors build them,
 * `instanceof` holds); Express, Nest and the fast front see what they saw before.
 *
 * With `httpsOptions` or `forceCloseConnections` the server stays Nest's own (we set neither).
 */
export class ExpressServerAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    super.initHttpServer(options);
    if (options.httpsOptions || options.forceCloseConnections) {
      return;
    }
    const app = this.getInstance<Express>();
    this.httpServer = createServer(
      {
        IncomingMessage: bornWith<typeof IncomingMessage>(IncomingMessage, app.request),
        ServerResponse: bornWith<typeof ServerResponse>(ServerResponse, app.response),
      },
      app,
    );
  }
}

/**
 * A constructor that builds what `Base` builds, on `prototype` (Node's HTTP server calls it with
 * `new`, as it would call `Base`). `Base` runs on the object `new` made from this constructor's
 * own initial map, whose prototype is `prototype`: V8 keeps those objects on fast shapes. (Not
 * `Reflect.construct(Base, args, Born)`: V8 derives that object's map at run time, through the
 * same prototype transition `Object.setPrototypeOf` takes, and the gain was gone.) Node's
 * `IncomingMessage` and `ServerResponse` are plain functions that may be called on `this`; a
 * `Base` that is a class cannot be, and is returned as it is.
 */
export function bornWith<C extends abstract new (...args: never[]) => object>(
  Base: C,
  prototype: object,
): C {
  if (Function.prototype.toString.call(Base).startsWith('class')) {
    return Base;
  }
  function Born(this: object, ...args: unknown[]): void {
    Reflect.apply(Base, this, args);
  }
  Born.prototype = prototype;
  return Born as unknown as C;
}
