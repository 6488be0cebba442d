import type { StreamEvent } from '@omnigent-server/client';

const TERMINAL = new Set([
  'response.completed',
  'response.failed',
  'response.incomplete',
  'response.cancelled',
]);

export type TurnStatus = 'completed' | 'failed' | 'incomplete';

/** What one stream event means for the turn being watched. */
export type TurnStep =
  { kind: 'ignore' } | { kind: 'event' } | { kind: 'done'; status: TurnStatus };

/**
 * Follows ONE turn: the one started by our `POST …/events`. The stream also carries what came
 * before it (a failed turn's trailing `session.status: failed`, replayed history after a
 * reconnect), so a turn is identified by its input, not by the next status that shows up:
 * `session.input.consumed` names our message's `item_id`; the turn's `response_id` is the
 * `session.status: running` announced right before it (an idle session) or the next turn to start
 * after it (a busy one queues it). Only events of that turn are shown, and only its end ends it.
 */
export class TurnTracker {
  /** The turn announced by the event just before, while our input is not consumed yet. */
  private runningId: string | undefined;
  private consumed: boolean;
  private turnId: string | undefined;
  private finished = false;

  /** `itemId` from the POST's ack; without one (input held for approval) the next turn is ours. */
  constructor(private readonly itemId: string | undefined) {
    this.consumed = itemId === undefined;
  }

  get responseId(): string | undefined {
    return this.turnId;
  }

  accept(event: StreamEvent): TurnStep {
    const step = this.step(event);
    if (this.finished) {
      return { kind: 'ignore' };
    }
    this.finished = step.kind === 'done';
    return step;
  }

  private step(event: StreamEvent): TurnStep {
    if (!this.turnId) {
      this.watchForStart(event);
      return { kind: 'ignore' };
    }
    if (TERMINAL.has(event.type)) {
      const response = (event as { response?: { id?: string } }).response;
      if (response?.id !== this.turnId) {
        return { kind: 'ignore' };
      }
      return { kind: 'done', status: terminalStatus(event.type) };
    }
    if (event.type === 'session.status') {
      if (event.response_id !== this.turnId || event.status === 'running') {
        return { kind: 'ignore' };
      }
      // Ends a turn that never produced a response.* terminal (a runner that died, say).
      return event.status === 'failed'
        ? { kind: 'done', status: 'failed' }
        : event.status === 'idle'
          ? { kind: 'done', status: 'completed' }
          : { kind: 'ignore' };
    }
    return { kind: 'event' };
  }

  private watchForStart(event: StreamEvent): void {
    // An idle session announces `running` and consumes the input in one step, so the status
    // counts only when it comes right before our input (heartbeats aside).
    const justRunning = this.runningId;
    if (event.type !== 'session.heartbeat' && event.type !== 'response.heartbeat') {
      this.runningId = undefined;
    }
    if (event.type === 'session.status' && event.status === 'running' && event.response_id) {
      if (this.consumed) {
        this.turnId = event.response_id;
      } else {
        this.runningId = event.response_id;
      }
    } else if (event.type === 'session.input.consumed') {
      if (!this.consumed && event.data.item_id === this.itemId) {
        this.consumed = true;
        this.turnId = justRunning;
      }
    } else if (event.type === 'response.created' && this.consumed) {
      this.turnId = event.response.id;
    }
  }
}

function terminalStatus(type: string): TurnStatus {
  if (type === 'response.completed') {
    return 'completed';
  }
  return type === 'response.failed' ? 'failed' : 'incomplete';
}

interface Item {
  type?: string;
  role?: string;
  name?: string;
  arguments?: string;
  output?: unknown;
  content?: { type?: string; text?: string }[];
}

function preview(text: string, max = 400): string {
  const trimmed = text.replace(/\s+$/, '');
  return trimmed.length > max ? `${trimmed.slice(0, max)}… (${trimmed.length} chars)` : trimmed;
}

/**
 * Prints a turn's events: the reply on stdout as it streams, tool calls, retries and errors on
 * stderr. Text deltas lost while the stream was reconnecting are made up from the final message.
 */
export class TurnPrinter {
  private printed = '';
  private midLine = false;
  failure: string | undefined;

  constructor(
    private readonly out: (text: string) => void,
    private readonly err: (text: string) => void,
  ) {}

  print(event: StreamEvent): void {
    if (event.type === 'response.output_text.delta') {
      this.text(event.delta);
    } else if (event.type === 'response.output_item.done') {
      this.item(event.item as Item);
    } else if (event.type === 'response.retry') {
      this.note(`… ${event.error.message} (retry ${event.attempt}/${event.max_attempts})`);
    } else if (event.type === 'response.error') {
      const tool = event.tool_name ? `${event.tool_name}: ` : '';
      this.note(`✗ ${tool}${event.error.code}: ${event.error.message}`);
    } else if (event.type === 'response.policy_denied') {
      this.note(`⛔ denied by policy${event.reason ? `: ${event.reason}` : ''}`);
    } else if (event.type === 'response.failed') {
      const error = event.response.error;
      this.fail(`${error?.code ?? 'failed'}: ${error?.message ?? 'the turn failed'}`);
    } else if (event.type === 'response.incomplete') {
      this.note(`(stopped: ${event.response.incomplete_details?.reason ?? 'incomplete'})`);
    } else if (event.type === 'response.cancelled') {
      this.note('(cancelled)');
    } else if (event.type === 'session.status' && event.status === 'failed' && !this.failure) {
      this.fail(
        `${event.error?.code ?? 'failed'}: ${event.error?.message ?? 'the session failed'}`,
      );
    }
  }

  /** Ends the output line, if the reply left one open. */
  finish(): void {
    if (this.midLine) {
      this.out('\n');
      this.midLine = false;
    }
  }

  private text(delta: string): void {
    this.out(delta);
    this.printed += delta;
    if (delta) {
      this.midLine = !delta.endsWith('\n');
    }
  }

  private item(item: Item): void {
    if (item.type === 'message' && item.role === 'assistant') {
      const full = (item.content ?? [])
        .map((part) => (part.type === 'output_text' ? (part.text ?? '') : ''))
        .join('');
      if (full.startsWith(this.printed)) {
        this.text(full.slice(this.printed.length));
      } else {
        this.finish();
        this.text(full);
      }
      this.printed = '';
      this.finish();
    } else if (item.type === 'function_call') {
      this.note(`⚙ ${item.name}(${preview(item.arguments ?? '', 200)})`);
    } else if (item.type === 'function_call_output') {
      const output = typeof item.output === 'string' ? item.output : JSON.stringify(item.output);
      this.note(`↳ ${preview(output ?? '')}`);
    }
  }

  private fail(message: string): void {
    this.failure = message;
    this.note(`✗ ${message}`);
  }

  private note(line: string): void {
    this.finish();
    this.err(`${line}\n`);
  }
}
