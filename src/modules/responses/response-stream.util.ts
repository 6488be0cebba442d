import { MessageEvent } from '@nestjs/common';
import { concat, defer, Observable, of, Subscription } from 'rxjs';

import { DONE } from 'src/common/sse/event-stream';

const LIFECYCLE = new Set(['response.created', 'response.queued', 'response.in_progress']);
const TERMINAL = new Set([
  'response.completed',
  'response.failed',
  'response.incomplete',
  'response.cancelled',
]);

/** The response id a lifecycle or terminal `response.*` frame is about (null for others). */
function responseIdOf(frame: MessageEvent): string | null {
  if (!frame.type || !(LIFECYCLE.has(frame.type) || TERMINAL.has(frame.type))) {
    return null;
  }
  try {
    const event = JSON.parse(String(frame.data)) as { response?: { id?: unknown } };
    return typeof event.response?.id === 'string' ? event.response.id : null;
  } catch {
    return null;
  }
}

/**
 * One response's frames out of its session's stream: heartbeats, then the `response.*` events
 * from the response's own `response.created` (or `in_progress`) on (so a turn queued behind
 * another does not show that one's deltas), up to and including its terminal event, then
 * `[DONE]`. `session.*` events are left out. With `started`, the turn is already running.
 */
export function responseFrames(
  session$: Observable<MessageEvent>,
  responseId: string,
  options: { started?: boolean; prefix?: MessageEvent[] } = {},
): Observable<MessageEvent> {
  return new Observable<MessageEvent>((subscriber) => {
    let started = options.started ?? false;
    let lastId = '0';
    for (const frame of options.prefix ?? []) {
      subscriber.next(frame);
    }
    const subscription: Subscription = session$.subscribe({
      next: (frame) => {
        lastId = frame.id ?? lastId;
        if (frame.data === DONE) {
          subscriber.next(frame);
          subscriber.complete();
          return;
        }
        const type = frame.type ?? '';
        const about = responseIdOf(frame);
        if (about === responseId && LIFECYCLE.has(type)) {
          started = true;
        }
        const ours = about === responseId && TERMINAL.has(type);
        if (type === 'session.heartbeat' || ours || (started && type.startsWith('response.'))) {
          subscriber.next(frame);
        }
        if (ours) {
          subscriber.next({ data: DONE, id: lastId });
          subscriber.complete();
        }
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => subscription.unsubscribe();
  });
}

/** Frames for a response that already ended: its terminal event, then `[DONE]`. */
export function endedFrames(terminal: { type: string }): Observable<MessageEvent> {
  return concat(
    defer(() => of<MessageEvent>({ type: terminal.type, id: '0', data: JSON.stringify(terminal) })),
    of<MessageEvent>({ data: DONE, id: '0' }),
  );
}

/** The SSE text of one frame: `event:` (when typed), `id:`, one `data:` line. */
export function sseText(frame: MessageEvent): string {
  const event = frame.type ? `event: ${frame.type}\n` : '';
  const id = frame.id !== undefined ? `id: ${frame.id}\n` : '';
  const data = typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data);
  return `${event}${id}data: ${data}\n\n`;
}

/**
 * A web `Response` that streams the frames as `text/event-stream` (Nest sends it as it is
 * produced). Leaving the stream (client gone) unsubscribes at once; a client that stops reading
 * is dropped once `maxPending` characters wait for it.
 */
export function sseResponse(frames$: Observable<MessageEvent>, maxPending: number): Response {
  let subscription: Subscription | undefined;
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        subscription = frames$.subscribe({
          next: (frame) => {
            controller.enqueue(encoder.encode(sseText(frame)));
            if ((controller.desiredSize ?? 0) < -maxPending) {
              subscription?.unsubscribe();
              controller.error(new Error('SSE client is not reading'));
            }
          },
          error: () => controller.close(),
          complete: () => controller.close(),
        });
      },
      cancel() {
        subscription?.unsubscribe();
      },
    },
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-store, no-transform',
      'x-accel-buffering': 'no',
    },
  });
}
