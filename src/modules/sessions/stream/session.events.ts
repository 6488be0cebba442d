import { StreamEvent } from 'src/protocol/stream-events';

type SessionKey = 'conversation_id' | 'session_id';

/** A payload on a session's stream: the session's own id is filled in when left out. */
type SessionScoped<P> = Omit<P, SessionKey> & Partial<Pick<P, Extract<keyof P, SessionKey>>>;

/**
 * The events of a session stream by type (style rule 19): what `emit(type, payload)` takes.
 * Derived from the StreamEvent union, so a payload is checked against its upstream schema.
 */
export type SessionEventMap = {
  [E in StreamEvent as E['type']]: SessionScoped<Omit<E, 'type'>>;
};

export type SessionEventType = keyof SessionEventMap;

/** What travels on a session's bus channel `s:{id}`: an event (with its stream seq if durable) or the end. */
export type SessionBusMessage =
  { kind: 'event'; seq: number | null; event: StreamEvent } | { kind: 'close'; reason: 'deleted' };
