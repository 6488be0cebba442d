import type { IncomingMessage, ServerResponse } from 'node:http';

import { Logger, MessageEvent } from '@nestjs/common';
import { Observable, Subscription } from 'rxjs';

/** The headers of an event stream (as Nest's `@Sse()` sends them). */
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  Connection: 'keep-alive',
  'Cache-Control': 'private, no-cache, no-store, must-revalidate, max-age=0, no-transform',
  Pragma: 'no-cache',
  Expires: '0',
  'X-Accel-Buffering': 'no',
};

const logger = new Logger('SseWriter');
const texts = new WeakMap<MessageEvent, string>();

/**
 * The SSE text of a frame (`event:` when typed, `id:`, its `data:` lines and the blank line),
 * built once per frame object: a frame fanned out to many streams is serialised once.
 */
export function frameText(frame: MessageEvent): string {
  let text = texts.get(frame);
  if (text === undefined) {
    const line = (value: unknown) => String(value).replace(/[\r\n]/g, '');
    const data = typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data);
    text =
      (frame.type ? `event: ${line(frame.type)}\n` : '') +
      (frame.id !== undefined && frame.id !== null ? `id: ${line(frame.id)}\n` : '') +
      data
        .split(/\r\n|\r|\n/)
        .map((part) => `data: ${part}\n`)
        .join('') +
      '\n';
    texts.set(frame, text);
  }
  return text;
}

export interface SseWriteOptions {
  /** Bytes the response may hold for a client that does not read; past it the client is dropped. */
  maxPending: number;
  /** Told how many frames each write carried (metrics). */
  onFrames?(count: number): void;
}

/**
 * Sends `frames$` on `res` as `text/event-stream` (instead of Nest's `@Sse()` pipeline, which
 * formats and writes every frame through a Transform stream and a promise per frame and
 * subscriber). The frames a stream gets in one turn of the event loop leave in one write; the
 * stream ends when `frames$` completes or fails, and leaving it (client gone) unsubscribes.
 * A client whose response holds more than `maxPending` unsent bytes is dropped, without
 * `[DONE]`, so an EventSource reconnects and resumes with Last-Event-ID.
 */
export function writeSse(
  req: IncomingMessage,
  res: ServerResponse,
  frames$: Observable<MessageEvent>,
  options: SseWriteOptions,
): void {
  req.socket.setKeepAlive(true);
  req.socket.setNoDelay(true);
  req.socket.setTimeout(0);
  res.writeHead(200, SSE_HEADERS);
  if (req.method === 'HEAD') {
    // No body: the stream is given back (its subscription and slot) and the response ends.
    frames$.subscribe().unsubscribe();
    res.end();
    return;
  }
  res.write('\n');
  let pending = '';
  let frames = 0;
  let scheduled = false;
  let ended = false;
  // Left (client gone) before it was subscribed: adding to it then unsubscribes at once.
  const subscription = new Subscription();

  const flush = () => {
    scheduled = false;
    if (pending === '' || res.destroyed) {
      return;
    }
    const chunk = pending;
    pending = '';
    // What the socket could not take yet (not what it took during this tick) plus this write.
    const queued = res.writableLength + Buffer.byteLength(chunk);
    if (res.writableNeedDrain && queued > options.maxPending) {
      logger.warn(
        `The client is not reading its events: ${queued} byte(s) of events are queued for ` +
          `it, which exceeds the maximum allowed ${options.maxPending}`,
      );
      leave();
      res.destroy();
      return;
    }
    options.onFrames?.(frames);
    frames = 0;
    res.write(chunk);
  };
  const leave = () => {
    ended = true;
    subscription.unsubscribe();
  };
  const end = () => {
    if (!ended) {
      ended = true;
      flush();
      res.end();
    }
  };
  res.on('close', leave);
  subscription.add(
    frames$.subscribe({
      next: (frame) => {
        pending += frameText(frame);
        frames++;
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      },
      error: end,
      complete: end,
    }),
  );
}
