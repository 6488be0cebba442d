import { Injectable, Logger } from '@nestjs/common';
import { catchError, concat, concatMap, defer, EMPTY, from, Observable, of } from 'rxjs';

import { normalizeStreamEvent, StreamEvent } from 'src/protocol/stream-events';
import { ChildSummariesService } from 'src/modules/sessions/child-summaries.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';

/**
 * The connect-time snapshot of a session stream (api-reference §4.3 step 3), in this order: one
 * `session.child_session.updated` per child, then one `session.changed_files.invalidated`. Best
 * effort: a part that fails is logged and left out, and the stream sends these frames beside
 * the live tail, which never waits for them.
 */
@Injectable()
export class StreamSnapshotService {
  private readonly logger = new Logger('SessionStreams');

  constructor(private readonly childSummaries: ChildSummariesService) {}

  frames(session: SessionEntity): Observable<StreamEvent> {
    return defer(() => concat(this.children(session.id), of(changedFiles(session.id))));
  }

  /** One full summary per child, the newest 100, oldest first. */
  private children(sessionId: string): Observable<StreamEvent> {
    return from(this.childSummaries.newest(sessionId)).pipe(
      concatMap((children) =>
        children.map((child) =>
          normalizeStreamEvent(
            { type: 'session.child_session.updated', child_session_id: child.id, child },
            sessionId,
          ),
        ),
      ),
      catchError((error: Error) => {
        this.logger.warn(`Child sessions of ${sessionId} not sent on connect: ${error.message}`);
        return EMPTY;
      }),
    );
  }
}

/** The coarse "reload the changed files" nudge every connect carries (`environment_id` default). */
function changedFiles(sessionId: string): StreamEvent {
  return normalizeStreamEvent({ type: 'session.changed_files.invalidated' }, sessionId);
}
