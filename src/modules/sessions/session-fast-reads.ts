import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { FastAnswer, FastRoute } from 'src/common/http/fast-lane.middleware';
import { SessionIdPipe } from 'src/common/validation/id-param.pipe';
import {
  GetSessionQueryDto,
  ListItemsQueryDto,
  ListSessionsQueryDto,
} from 'src/modules/sessions/dto/session-request.dto';
import { SessionReadsService } from 'src/modules/sessions/session-reads.service';
import { SessionsController } from 'src/modules/sessions/sessions.controller';

type Read = 'list' | 'snapshot' | 'items';

/**
 * The seam: the one place the fast lane calls SessionReadsService, the service behind the same
 * three controller methods.
 */
async function readSession(
  reads: SessionReadsService,
  read: Read,
  auth: AuthPrincipal,
  id: string,
  query: object,
): Promise<FastAnswer> {
  switch (read) {
    case 'list':
      return { json: await reads.listJson(auth, query as ListSessionsQueryDto) };
    case 'snapshot':
      return { json: await reads.snapshotJson(auth, id, query as GetSessionQueryDto) };
    case 'items':
      return { json: await reads.itemsJson(auth, id, query as ListItemsQueryDto) };
  }
}

/**
 * `GET /v1/sessions`, `GET /v1/sessions/{id}` and `GET /v1/sessions/{id}/items` on the fast lane
 * (issue 12). A list with `search_query` takes Nest's path (a search is not a hot read).
 */
export function sessionFastRoutes(reads: SessionReadsService): FastRoute[] {
  const route = (read: Read, method: keyof SessionsController, query: FastRoute['query']) => ({
    controller: SessionsController,
    method,
    query,
    read: (auth: AuthPrincipal, id: string, dto: object) => readSession(reads, read, auth, id, dto),
  });
  return [
    {
      ...route('list', 'list', ListSessionsQueryDto),
      fallThrough: (query) => query.search_query !== undefined,
    },
    { ...route('snapshot', 'get', GetSessionQueryDto), param: SessionIdPipe },
    { ...route('items', 'items', ListItemsQueryDto), param: SessionIdPipe },
  ];
}
