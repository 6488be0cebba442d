import type { OmnigentClient, Session, StreamEvent } from '@omnigent-server/client';
import { useEffect, useRef, useState } from 'preact/hooks';

import { describeError, isUnauthorized } from './api';
import { addApproval, applyEvent, applyItem, emptyTranscript, type Transcript } from './transcript';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'closed' | 'failed';

const MAX_ITEMS = 5000;
const SNAPSHOT_REFRESH_MS = 10_000;

async function allItems(client: OmnigentClient, sessionId: string) {
  const items: Record<string, unknown>[] = [];
  let after: string | undefined;
  while (items.length < MAX_ITEMS) {
    const page = await client.sessions.items(sessionId, { limit: 1000, order: 'asc', after });
    items.push(...(page.data as unknown as Record<string, unknown>[]));
    if (!page.has_more || !page.last_id) {
      break;
    }
    after = page.last_id;
  }
  return items;
}

function fold(state: Transcript, session: Session, items: Record<string, unknown>[]): Transcript {
  let next = items.reduce(applyItem, state);
  for (const pending of session.pending_elicitations ?? []) {
    next = addApproval(next, pending as unknown as Parameters<typeof addApproval>[1]);
  }
  return { ...next, status: session.status, reset: false };
}

/**
 * A session's snapshot, transcript and live stream. The stream is opened first and the history
 * loaded once it answers, so nothing falls between the two (items already shown are skipped by
 * id). A dropped connection resumes with `Last-Event-ID` (the client does it); the final message
 * of a reply carries its whole text, so deltas lost while away cost nothing. When there was no
 * resume point yet, or the server pruned it (`stream.reset`), the history is merged in again.
 */
export function useSession(
  client: OmnigentClient,
  sessionId: string,
  onUnauthorized: (error: unknown) => void,
) {
  const [session, setSession] = useState<Session | undefined>();
  const [transcript, setTranscript] = useState<Transcript>(() => emptyTranscript());
  const [connection, setConnection] = useState<Connection>('connecting');
  const [error, setError] = useState<string | undefined>();
  const stateRef = useRef(transcript);
  stateRef.current = transcript;

  useEffect(() => {
    let disposed = false;
    let loaded = false;
    let loading = false;
    let reloadOnNextEvent = false;
    const buffered: StreamEvent[] = [];
    const fail = (failure: unknown) => {
      if (disposed) {
        return;
      }
      if (isUnauthorized(failure)) {
        onUnauthorized(failure);
      } else {
        setError(describeError(failure));
      }
    };
    const stream = client.sessions.stream(sessionId, {
      reconnect: { maxAttempts: 1000, initialDelayMs: 250, maxDelayMs: 4000 },
      onReconnect: () => {
        setConnection('reconnecting');
        reloadOnNextEvent = stream.lastEventId === undefined;
      },
    });

    const load = async () => {
      const snapshot = await client.sessions.get(sessionId);
      const items = await allItems(client, sessionId);
      if (disposed) {
        return;
      }
      // Synchronous from here: no stream event can slip in between.
      let next = fold(emptyTranscript(snapshot.status), snapshot, items);
      for (const event of buffered.splice(0)) {
        next = applyEvent(next, event);
      }
      setSession(snapshot);
      setTranscript(next);
      loaded = true;
    };
    const reload = async () => {
      const snapshot = await client.sessions.get(sessionId);
      const items = await allItems(client, sessionId);
      if (!disposed) {
        setSession(snapshot);
        setTranscript((state) => fold(state, snapshot, items));
      }
    };

    void (async () => {
      try {
        for await (const event of stream) {
          if (disposed) {
            break;
          }
          setConnection('live');
          if (!loaded) {
            buffered.push(event);
            if (!loading) {
              loading = true;
              load().catch(fail);
            }
            continue;
          }
          if (reloadOnNextEvent) {
            reloadOnNextEvent = false;
            reload().catch(fail);
          }
          setTranscript((state) => applyEvent(state, event));
          if (event.type === 'stream.reset') {
            reload().catch(fail);
          }
        }
        if (!disposed) {
          setConnection('closed');
        }
      } catch (failure) {
        if (!disposed) {
          setConnection('failed');
          fail(failure);
        }
      }
    })();

    // Runner and host presence are not stream events: refresh the snapshot now and then.
    const timer = setInterval(() => {
      client.sessions
        .get(sessionId)
        .then((snapshot) => !disposed && setSession(snapshot))
        .catch(() => undefined);
    }, SNAPSHOT_REFRESH_MS);

    return () => {
      disposed = true;
      clearInterval(timer);
      stream.close();
    };
  }, [client, sessionId]);

  return { session, setSession, transcript, setTranscript, connection, error, setError };
}
