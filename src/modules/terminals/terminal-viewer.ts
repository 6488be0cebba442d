import { TERMINAL_MAX_SIZE, TERMINAL_MIN_SIZE } from 'src/protocol/terminal-protocol';

/** A client → server frame on the attach socket, decoded. */
export type AttachCommand =
  | { kind: 'input'; data: Buffer }
  | { kind: 'resize'; cols: number; rows: number }
  | { kind: 'ignore' };

function isSize(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= TERMINAL_MIN_SIZE &&
    value <= TERMINAL_MAX_SIZE
  );
}

/**
 * Upstream's attach framing (spec/api-reference.md §13): a binary frame is raw input for the PTY;
 * a text frame is a JSON control message, `{"type":"resize","cols":N,"rows":M}` (we also take
 * `{"type":"input","data":"…"}`). Anything else is ignored, never an error.
 */
export function parseClientFrame(data: Buffer, isBinary: boolean): AttachCommand {
  if (isBinary) {
    return data.length > 0 ? { kind: 'input', data } : { kind: 'ignore' };
  }
  let message: unknown;
  try {
    message = JSON.parse(data.toString('utf8'));
  } catch {
    return { kind: 'ignore' };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { kind: 'ignore' };
  }
  const { type, cols, rows, data: text } = message as Record<string, unknown>;
  if (type === 'resize' && isSize(cols) && isSize(rows)) {
    return { kind: 'resize', cols, rows };
  }
  if (type === 'input' && typeof text === 'string' && text.length > 0) {
    return { kind: 'input', data: Buffer.from(text, 'utf8') };
  }
  return { kind: 'ignore' };
}

/** Where a viewer's output goes (its WebSocket). */
export interface ViewerSink {
  send(data: Buffer): void;
  close(code: number, reason: string): void;
}

/** Output a viewer may have queued while its snapshot is on the way. */
export const VIEWER_QUEUE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * One attached client. Output chunks carry their offset in the terminal's whole output; until the
 * scrollback snapshot arrives they are queued, then the snapshot is sent and every chunk only from
 * where the snapshot ended: nothing twice, nothing missing, whatever the order of arrival.
 */
export class TerminalViewer {
  private queue: { offset: number; data: Buffer }[] | null = [];
  private queuedBytes = 0;
  private sentEnd = 0;
  private sink?: ViewerSink;
  closed = false;

  constructor(readonly readOnly: boolean) {}

  /** Output from the runner. */
  output(offset: number, data: Buffer): void {
    if (this.closed) {
      return;
    }
    if (this.queue) {
      this.queue.push({ offset, data });
      this.queuedBytes += data.length;
      if (this.queuedBytes > VIEWER_QUEUE_MAX_BYTES) {
        this.close(1013, 'too much output while attaching; attach again');
      }
      return;
    }
    this.deliver(offset, data);
  }

  /** The socket is open and the snapshot is here: replay it, then go live. */
  start(sink: ViewerSink, snapshot: Buffer, end: number): void {
    this.sink = sink;
    if (this.closed) {
      sink.close(1011, 'terminal gone');
      return;
    }
    if (snapshot.length > 0) {
      sink.send(snapshot);
    }
    this.sentEnd = end;
    const queued = this.queue ?? [];
    this.queue = null;
    this.queuedBytes = 0;
    for (const chunk of queued) {
      this.deliver(chunk.offset, chunk.data);
    }
  }

  close(code: number, reason: string): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.queue = null;
    this.sink?.close(code, reason);
  }

  private deliver(offset: number, data: Buffer): void {
    const skip = Math.max(0, this.sentEnd - offset);
    if (skip >= data.length) {
      return;
    }
    this.sink?.send(skip > 0 ? data.subarray(skip) : data);
    this.sentEnd = Math.max(this.sentEnd, offset + data.length);
  }
}
