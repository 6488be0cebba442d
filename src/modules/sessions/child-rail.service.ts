import { Injectable, Logger, OnModuleInit } from '@nestjs/common';

import { childPreview } from 'src/modules/sessions/dto/session-response.dto';
import { childRailChange, ChildRailChange } from 'src/modules/sessions/child-rail.util';
import { ChildSummariesService } from 'src/modules/sessions/child-summaries.service';
import {
  ChildUnit,
  SessionEventsService,
} from 'src/modules/sessions/stream/session-events.service';

/**
 * The parent's child-session rail, live (api-reference §4 row 22): after a unit of work on a
 * child changed what its summary shows, a partial `session.child_session.updated` goes on the
 * parent's stream. Its own unit on the parent, after the child's committed (a parent's unit may
 * be waiting on its child's lock: never nested); one queue per parent keeps them in order.
 */
@Injectable()
export class ChildRailService implements OnModuleInit {
  private readonly logger = new Logger('ChildRail');
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly stream: SessionEventsService,
    private readonly summaries: ChildSummariesService,
  ) {}

  onModuleInit(): void {
    this.stream.onChildUnit((unit) => this.changed(unit));
  }

  /** Resolves once every update queued so far went out (or failed and was logged). */
  async settled(): Promise<void> {
    await Promise.all(this.queues.values());
  }

  private changed({ before, after, events }: ChildUnit): void {
    const change = childRailChange(before, after, events, new Date());
    if (!change) {
      return;
    }
    const parentId = after.parentSessionId;
    const next = (this.queues.get(parentId) ?? Promise.resolve())
      .then(() => this.publish(parentId, after.id, change))
      .catch((error: Error) =>
        this.logger.warn(`Rail update of ${after.id} for ${parentId} failed: ${error.message}`),
      );
    this.queues.set(parentId, next);
    void next.then(() => {
      if (this.queues.get(parentId) === next) {
        this.queues.delete(parentId);
      }
    });
  }

  private async publish(parentId: string, childId: string, change: ChildRailChange) {
    const child = { ...change.fields };
    if (change.preview) {
      child.last_message_preview = childPreview(await this.summaries.lastMessageText(childId));
    }
    if (change.elicitations) {
      child.pending_elicitations_count = await this.summaries.pendingElicitationsCount(childId);
    }
    await this.stream.locked(parentId, async (s) => {
      s.emit('session.child_session.updated', { child_session_id: childId, child });
    });
  }
}
