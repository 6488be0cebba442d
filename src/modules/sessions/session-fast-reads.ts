import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { FastRoute } from 'src/common/http/fast-lane.middleware';
import { carriesIdempotencyKey } from 'src/common/idempotency/idempotency.interceptor';
import { SessionIdPipe } from 'src/common/validation/id-param.pipe';
import { encodedAnswer } from 'src/modules/sessions/answer-cache.util';
import {
  GetSessionQueryDto,
  ListItemsQueryDto,
  ListSessionsQueryDto,
  SessionEventInputDto,
} from 'src/modules/sessions/dto/session-request.dto';
import { SessionsController } from 'src/modules/sessions/sessions.controller';

/**
 * `GET /v1/sessions`, `GET /v1/sessions/{id}`, `GET /v1/sessions/{id}/items` and
 * `POST /v1/sessions/{id}/events` on the fast lane (issue 12): the controller's own methods,
 * called with what Nest's parameter decorators would give them. A list with `search_query` takes
 * Nest's path (a search is not a hot read).
 */
export function sessionFastRoutes(controller: SessionsController): FastRoute[] {
  const list: FastRoute<ListSessionsQueryDto> = {
    controller: SessionsController,
    method: 'list',
    query: ListSessionsQueryDto,
    fallThrough: (query) => query.search_query !== undefined,
    encoded: encodedAnswer,
    handle: (auth: AuthPrincipal, _id, query, req, res) =>
      controller.list(auth, query, req.headers['if-none-match'], res),
  };
  // `get` and `items` take the same arguments: the session id, the query, If-None-Match, res.
  const bySession = (
    method: 'get' | 'items',
    query: FastRoute['query'],
  ): FastRoute<GetSessionQueryDto & ListItemsQueryDto> => ({
    controller: SessionsController,
    method,
    param: SessionIdPipe,
    query,
    encoded: encodedAnswer,
    handle: (auth, id, dto, req, res) =>
      controller[method](auth, id, dto, req.headers['if-none-match'], res),
  });
  // A turn's POST (a user message, above all): its first delta waits for it (issue 12). With an
  // Idempotency-Key, Nest answers (its interceptor stores or replays the answer).
  const postEvent: FastRoute<object, SessionEventInputDto> = {
    controller: SessionsController,
    method: 'postEvent',
    param: SessionIdPipe,
    body: SessionEventInputDto,
    nestOnly: carriesIdempotencyKey,
    handle: (auth, id, _query, _req, _res, body) => controller.postEvent(auth, id, body),
  };
  return [
    list,
    bySession('get', GetSessionQueryDto),
    bySession('items', ListItemsQueryDto),
    postEvent,
  ];
}
