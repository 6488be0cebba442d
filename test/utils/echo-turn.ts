/**
 * The durable event types of one echo turn on a session's stream, in order: the session starts
 * running, takes the message, answers it in one item and goes idle again (heartbeats and
 * deltas left out).
 */
export const ECHO_TURN_EVENT_TYPES: readonly string[] = [
  'session.status',
  'session.input.consumed',
  'response.created',
  'response.in_progress',
  'response.output_item.done',
  'response.completed',
  'session.status',
];
