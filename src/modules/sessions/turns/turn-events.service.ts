import { Injectable, Logger } from '@nestjs/common';

import { IdPrefix, isItemId, newId } from 'src/common/ids/ids';
import { unflattenItem } from 'src/protocol/items';
import {
  InvalidStreamEventError,
  isKnownEventType,
  normalizeStreamEvent,
  RawStreamEvent,
  StreamEvent,
  StreamEventOf,
  TerminalResponseEvent,
} from 'src/protocol/stream-events';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { MetricsService, TurnOutcome } from 'src/modules/metrics/metrics.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { failureOf } from 'src/modules/sessions/turns/turn-input.util';
import { addUsage } from 'src/modules/sessions/usage-totals';

/**
 * What the runner's events mean for a turn (the runner half of TurnsService's ownership): the
 * durable ones applied inside the ingest's locked-session unit of work, the transient ones
 * relayed unless their turn was interrupted. Every write to the turn's state made on the
 * runner's word happens here.
 */
@Injectable()
export class TurnEventsService {
  private readonly logger = new Logger('Turns');

  constructor(
    private readonly metrics: MetricsService,
    private readonly stream: SessionEventsService,
  ) {}

  /** A transient runner event (a delta): relayed unless its turn was interrupted (fenced). */
  relayTransient(session: SessionEntity, turnId: string | null, event: StreamEvent): void {
    if (turnId && session.cancelRequestedTurnId === turnId) {
      return;
    }
    this.stream.publishTransient(session.id, event);
  }

  /**
   * What a durable runner event means for the session, inside the ingest's unit of work.
   * Exhaustive over the event union, so a new upstream event type fails lint until it is
   * decided here. Throws InvalidStreamEventError for an event that cannot be applied.
   */
  async applyRunnerEvent(
    s: LockedSession,
    raw: RawStreamEvent,
    turnId: string | null,
  ): Promise<void> {
    if (!isKnownEventType(raw.type)) {
      throw new InvalidStreamEventError(`unknown event type '${raw.type}'`);
    }
    const event = normalizeStreamEvent(raw, s.id);
    switch (event.type) {
      case 'session.status':
        this.applyStatus(s, event.status, raw.error);
        break;
      case 'response.created':
      case 'response.in_progress':
        s.patch({ currentTurnId: event.response.id });
        break;
      case 'response.output_item.done': {
        const parsed = unflattenItem(event.item);
        if ('error' in parsed || !isItemId(parsed.item.id)) {
          throw new InvalidStreamEventError('error' in parsed ? parsed.error : 'invalid item id');
        }
        // Stored with the unit's other items in one statement; dropped if the id is another item's.
        s.emitItem({
          ...parsed.item,
          response_id: turnId ?? parsed.item.response_id,
          created_by: null,
        });
        return;
      }
      case 'response.completed':
      case 'response.failed':
      case 'response.incomplete':
      case 'response.cancelled':
        if (!(await this.finishResponse(s, event, raw))) {
          return;
        }
        break;
      // Never relayed: the server owns these (runner-protocol §6 rule 6), transient types never
      // get here (durability is decided by type), and stream.reset is ours.
      case 'response.elicitation_request':
      case 'response.elicitation_resolved':
      case 'session.input.consumed':
      case 'session.interrupted':
      case 'response.output_text.delta':
      case 'response.function_call_output.delta':
      case 'response.reasoning.started':
      case 'response.reasoning_text.delta':
      case 'response.reasoning_summary_text.delta':
      case 'session.heartbeat':
      case 'response.heartbeat':
      case 'session.presence':
      case 'session.terminal.activity':
      case 'stream.reset':
        return;
      // Relayed as they are.
      case 'browser.action_request':
      case 'response.client_task.cancel':
      case 'response.compaction.completed':
      case 'response.compaction.failed':
      case 'response.compaction.in_progress':
      case 'response.error':
      case 'response.output_file.done':
      case 'response.policy_denied':
      case 'response.queued':
      case 'response.retry':
      case 'session.agent_changed':
      case 'session.changed_files.invalidated':
      case 'session.child_session.updated':
      case 'session.collaboration_mode':
      case 'session.created':
      case 'session.mcp_startup':
      case 'session.model':
      case 'session.model_options':
      case 'session.permission_mode':
      case 'session.reasoning_effort':
      case 'session.resource.created':
      case 'session.resource.deleted':
      case 'session.sandbox_status':
      case 'session.skills':
      case 'session.superseded':
      case 'session.terminal_pending':
      case 'session.title':
      case 'session.todos':
      case 'session.usage':
      case 'turn.cancelled':
      case 'turn.completed':
      case 'turn.failed':
      case 'turn.started':
        break;
    }
    s.relay(event);
  }

  /** The runner's `session.status`: a failure is kept as `lastError`, an end clears the turn. */
  private applyStatus(
    s: LockedSession,
    status: StreamEventOf<'session.status'>['status'],
    rawError: unknown,
  ): void {
    if (status === 'launching') {
      throw new InvalidStreamEventError(`invalid session status '${status}'`);
    }
    s.patch({ liveStatus: status });
    if (status === 'running') {
      s.patch({ lastError: null });
    }
    if (status === 'failed') {
      s.patch({ lastError: failureOf(rawError) });
    }
    if (status === 'idle' || status === 'failed') {
      s.patch({ currentTurnId: null, cancelRequestedTurnId: null });
    }
  }

  /**
   * A terminal `response.*`: the turn is over; a failure also becomes an error item. False (the
   * event is dropped) when the turn already ended: the server failed it while the runner was
   * away, or this is a replay (one terminal event per turn, finding 4).
   */
  private async finishResponse(
    s: LockedSession,
    event: TerminalResponseEvent,
    raw: RawStreamEvent,
  ): Promise<boolean> {
    const { response } = event;
    if (!(await s.claimTerminal(response.id, event.type))) {
      this.logger.warn(`Dropped ${event.type} of ${response.id}: the turn already ended`);
      if (s.row.currentTurnId === response.id) {
        s.patch({ currentTurnId: null });
      }
      return false;
    }
    // Once, when the unit commits (an optimistic unit may run again).
    s.afterCommit(() =>
      this.metrics.recordTurn(
        event.type.slice('response.'.length) as TurnOutcome,
        response.created_at,
      ),
    );
    if (s.row.currentTurnId === response.id) {
      s.patch({ currentTurnId: null });
    }
    if (typeof response.usage?.total_tokens === 'number') {
      s.patch({ lastTotalTokens: response.usage.total_tokens });
    }
    if (response.usage) {
      // Exactly once per turn (the terminal was claimed above), in the ingest's transaction.
      s.patch({ usageTotals: addUsage(s.row.usageTotals, response.usage, new Date()) });
    }
    if (event.type === 'response.failed') {
      const rawResponse = raw.response as { error?: unknown } | undefined;
      s.emitItem({
        id: newId(IdPrefix.Error),
        response_id: response.id,
        type: 'error',
        status: 'completed',
        created_by: null,
        data: { source: 'execution', ...failureOf(rawResponse?.error) },
      });
    }
    return true;
  }
}
