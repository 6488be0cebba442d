import http, { IncomingMessage } from 'node:http';

export interface SseFrame {
  event?: string;
  id?: string;
  data: string;
  /** The parsed data, unless it is `[DONE]`. */
  json?: Record<string, unknown> & { type?: string };
  raw: string;
  /** When the frame arrived (Date.now()). */
  receivedAt: number;
}

export interface SseConnection {
  status: number;
  headers: IncomingMessage['headers'];
  frames: SseFrame[];
  /** Resolves with the first frame (already received or future) matching the predicate. */
  waitFor(
    predicate: (frame: SseFrame) => boolean,
    timeoutMs?: number,
    label?: string,
  ): Promise<SseFrame>;
  /** Resolves when the server ends the response. */
  ended: Promise<void>;
  /** The raw body when the answer was not a stream (errors). */
  body(): string;
  close(): void;
}

/**
 * A raw SSE reader (style rule 21: SSE is checked with a raw http.get): keeps every frame with
 * its `event:` / `id:` lines so tests can assert framing, ids and order.
 */
export function openSse(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const frames: SseFrame[] = [];
    const listeners = new Set<() => void>();
    let buffer = '';
    let text = '';
    let endResolve: () => void = () => undefined;
    const ended = new Promise<void>((r) => (endResolve = r));
    const req = http.get(
      new URL(path, baseUrl),
      { headers: { Accept: 'text/event-stream', ...headers } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const raw = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const frame: SseFrame = { data: '', raw, receivedAt: Date.now() };
            for (const line of raw.split('\n')) {
              if (line.startsWith('event: ')) {
                frame.event = line.slice(7);
              } else if (line.startsWith('id: ')) {
                frame.id = line.slice(4);
              } else if (line.startsWith('data: ')) {
                frame.data += line.slice(6);
              }
            }
            if (!frame.data && !frame.event) {
              continue;
            }
            if (frame.data !== '[DONE]') {
              try {
                frame.json = JSON.parse(frame.data);
              } catch {
                // left unparsed: the test will see it
              }
            }
            frames.push(frame);
            listeners.forEach((l) => l());
          }
        });
        res.on('end', () => {
          endResolve();
          listeners.forEach((l) => l());
        });
        res.on('close', () => endResolve());
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          frames,
          ended,
          body: () => text,
          close: () => req.destroy(),
          waitFor(predicate, timeoutMs = 15_000, label = 'frame') {
            return new Promise((ok, fail) => {
              const check = () => {
                const found = frames.find(predicate);
                if (found) {
                  listeners.delete(check);
                  clearTimeout(timer);
                  ok(found);
                }
              };
              const timer = setTimeout(() => {
                listeners.delete(check);
                fail(
                  new Error(
                    `timed out waiting for ${label}; got: ${frames.map((f) => f.event ?? f.data).join(', ')}`,
                  ),
                );
              }, timeoutMs);
              listeners.add(check);
              check();
            });
          },
        });
      },
    );
    req.on('error', reject);
  });
}

/** Resolves once the stream has carried `count` `session.status` idle frames. */
export function waitForIdle(
  stream: SseConnection,
  count = 1,
  timeoutMs = 20_000,
): Promise<SseFrame> {
  return stream.waitFor(
    () =>
      stream.frames.filter((f) => f.event === 'session.status' && f.json?.status === 'idle')
        .length >= count,
    timeoutMs,
    `${count} session.status idle`,
  );
}

/** `event:` names of the frames, in order. */
export function eventTypes(frames: SseFrame[]): string[] {
  return frames.map((f) => f.event ?? f.data);
}
