import { FlatItem } from 'src/protocol/items';
import {
  ClientToolSpec,
  SessionEventParams,
  SessionInitParams,
  TurnStartParams,
} from 'src/protocol/runner-protocol';

export interface PendingClientCall {
  resolve(output: string): void;
}

export interface CurrentTurn {
  turnId: string;
  abort: AbortController;
  /** Client-side tool calls waiting for `client_tool.result`, by call id. */
  clientCalls: Map<string, PendingClientCall>;
}

/** Limits of the unacked durable events kept for re-sending (spec/runner-protocol.md §6 rule 4). */
export const OUTBOX_MAX_EVENTS = 10_000;
export const OUTBOX_MAX_BYTES = 16 * 1024 * 1024;

/** What the runner holds for one session. */
export class SessionState {
  init: SessionInitParams;
  history: FlatItem[];
  historyComplete: boolean;
  nextSeq: number;
  readonly outbox = new Map<number, { params: SessionEventParams; bytes: number }>();
  outboxBytes = 0;
  readonly queue: TurnStartParams[] = [];
  current?: CurrentTurn;
  /** Turn ids seen, so a re-sent turn.start is not run twice. */
  readonly seenTurns = new Set<string>();
  clientTools: ClientToolSpec[] = [];

  constructor(
    readonly id: string,
    init: SessionInitParams,
  ) {
    this.init = init;
    this.history = [...(init.history ?? [])];
    this.historyComplete = !init.history_truncated;
    this.nextSeq = init.next_seq;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** A newer init (after a reconnect or rebind) refreshes the spec and snapshot, never the seq. */
  reinit(init: SessionInitParams): void {
    this.init = init;
    this.nextSeq = Math.max(this.nextSeq, init.next_seq);
    if (!this.busy) {
      this.history = [...(init.history ?? [])];
      this.historyComplete = !init.history_truncated;
    }
  }

  ack(seq: number): void {
    for (const [key, entry] of this.outbox) {
      if (key <= seq) {
        this.outbox.delete(key);
        this.outboxBytes -= entry.bytes;
      }
    }
  }
}
