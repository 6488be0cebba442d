import { Injectable, Logger } from '@nestjs/common';
import { concat, concatMap, defer, EMPTY, from, Observable, of } from 'rxjs';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { normalizeStreamEvent, StreamEvent } from 'src/protocol/stream-events';
import { TerminalInfo, TerminalMethods } from 'src/protocol/terminal-protocol';
import { SessionRunnerService } from 'src/modules/runners/session-runner.service';
import { ChildSummariesService } from 'src/modules/sessions/child-summaries.service';
import { PresenceSeat } from 'src/modules/sessions/presence/presence.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { toTerminalResource } from 'src/modules/terminals/dto/terminal.dto';

/** The runner has this long to list the session's terminals (api-reference §4.3). */
export const SNAPSHOT_TERMINALS_MS = 2000;
/** At most this many terminals are announced on connect, the oldest first. */
export const SNAPSHOT_TERMINALS = 1000;

/**
 * The connect-time snapshot of a session stream (api-reference §4.3 step 3), in this order: one
 * `session.child_session.updated` per child, one `session.resource.created` per live terminal,
 * one `session.changed_files.invalidated`, then (for a viewer presence tracks) one
 * `session.presence`. Children and terminals are read at once, in
 * parallel. Best effort: a part that fails or runs late is logged and left out, and the stream
 * sends these frames beside the live tail, which never waits for them.
 */
@Injectable()
export class StreamSnapshotService {
  private readonly logger = new Logger('SessionStreams');

  constructor(
    private readonly childSummaries: ChildSummariesService,
    private readonly runner: SessionRunnerService,
  ) {}

  frames(session: SessionEntity, seat: PresenceSeat | null = null): Observable<StreamEvent> {
    return defer(() => {
      const parts = [this.children(session.id), this.terminals(session)];
      return concat(
        from(parts).pipe(concatMap((part) => from(part).pipe(concatMap((events) => events)))),
        of(changedFiles(session.id)),
        // The viewers as they are when it is sent, the caller among them.
        defer(() => (seat ? of(seat.current()) : EMPTY)),
      );
    });
  }

  /** One full summary per child, the newest 100, oldest first. */
  private async children(sessionId: string): Promise<StreamEvent[]> {
    try {
      return (await this.childSummaries.newest(sessionId)).map((child) =>
        normalizeStreamEvent(
          { type: 'session.child_session.updated', child_session_id: child.id, child },
          sessionId,
        ),
      );
    } catch (error) {
      this.logger.warn(
        `Child sessions of ${sessionId} not sent on connect: ${(error as Error).message}`,
      );
      return [];
    }
  }

  /** The terminals the session's runner holds, in creation order (none when it is unbound). */
  private async terminals(session: SessionEntity): Promise<StreamEvent[]> {
    if (!session.runnerId) {
      return [];
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${SNAPSHOT_TERMINALS_MS} ms`)),
          SNAPSHOT_TERMINALS_MS,
        );
      });
      const listed = this.runner.call<TerminalInfo[]>(
        session,
        TerminalMethods.list,
        {},
        { spec: null, timeoutMs: SNAPSHOT_TERMINALS_MS },
      );
      const terminals = await Promise.race([listed, late]);
      return terminals.slice(0, SNAPSHOT_TERMINALS).map((terminal) =>
        normalizeStreamEvent(
          {
            type: 'session.resource.created',
            resource: toTerminalResource(session.id, terminal),
          },
          session.id,
        ),
      );
    } catch (error) {
      const message = `Terminals of ${session.id} not sent on connect: ${(error as Error).message}`;
      // An offline runner is common and says nothing new; a runner that fails or is late does.
      if (error instanceof DomainError && error.code === ErrorCode.RunnerUnavailable) {
        this.logger.debug(message);
      } else {
        this.logger.warn(message);
      }
      return [];
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The coarse "reload the changed files" nudge every connect carries (`environment_id` default). */
function changedFiles(sessionId: string): StreamEvent {
  return normalizeStreamEvent({ type: 'session.changed_files.invalidated' }, sessionId);
}
