import { toUnixSeconds } from 'src/database/transformers';
import { StreamEvent } from 'src/protocol/stream-events';
import {
  ChildSessionSummaryDto,
  childTaskFields,
  childTitleFields,
  lastTaskError,
} from 'src/modules/sessions/dto/session-response.dto';
import { SessionEntity } from 'src/modules/sessions/session.entity';

/** What one committed unit of work on a child changed of its summary on the parent's rail. */
export interface ChildRailChange {
  /** The summary fields known from the child's row. */
  fields: Partial<ChildSessionSummaryDto>;
  /** A message was stored: `last_message_preview` is to be read again. */
  preview: boolean;
  /** An approval was asked or answered: `pending_elicitations_count` is to be read again. */
  elicitations: boolean;
}

const ELICITATION_EVENTS: ReadonlySet<string> = new Set([
  'response.elicitation_request',
  'response.elicitation_resolved',
]);

function storesMessage(event: StreamEvent): boolean {
  return (
    event.type === 'response.output_item.done' &&
    (event.item as { type?: unknown } | undefined)?.type === 'message'
  );
}

function changedKeys<T extends object>(before: T, after: T): (keyof T)[] {
  return (Object.keys(after) as (keyof T)[]).filter(
    (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  );
}

/**
 * The partial summary a live `session.child_session.updated` carries (api-reference §4
 * row 22): busy state and current task, title, `last_task_error`, and whether the preview or
 * the approval count must be read again. Null when the unit changed nothing the rail shows.
 */
export function childRailChange(
  before: SessionEntity,
  after: SessionEntity,
  events: StreamEvent[],
  now: Date,
): ChildRailChange | null {
  const fields: Partial<ChildSessionSummaryDto> = {};
  const task = childTaskFields(after);
  if (changedKeys(childTaskFields(before), task).length > 0) {
    Object.assign(fields, task);
  }
  if (before.title !== after.title) {
    Object.assign(fields, childTitleFields(after.title));
  }
  const error = lastTaskError(after);
  if (JSON.stringify(lastTaskError(before)) !== JSON.stringify(error)) {
    fields.last_task_error = error;
  }
  const preview = events.some(storesMessage);
  const elicitations = events.some((event) => ELICITATION_EVENTS.has(event.type));
  if (Object.keys(fields).length === 0 && !preview && !elicitations) {
    return null;
  }
  fields.updated_at = toUnixSeconds(now);
  return { fields, preview, elicitations };
}
