import { FlatItem } from 'src/protocol/items';
import {
  SessionEventParams,
  SessionInitParams,
  TurnStartParams,
} from 'src/protocol/runner-protocol';
import { ErrorDetail, StreamEvent } from 'src/protocol/stream-events';
import { HarnessError } from 'src/runner/harnesses/harness';
import type { McpServers } from 'src/runner/mcp/mcp-servers';

export interface PendingClientCall {
  resolve(output: string): void;
}

/** The decision on a parked approval (`elicitation.resolve`, or a hello verdict). */
export interface ApprovalVerdict {
  action: 'accept' | 'decline' | 'cancel';
  content?: unknown;
}

export interface CurrentTurn {
  turnId: string;
  abort: AbortController;
  /** Client-side tool calls waiting for `client_tool.result`, by call id. */
  clientCalls: Map<string, PendingClientCall>;
}

/** Verdicts kept for calls that have not parked yet (see SessionState.earlyVerdicts). */
const EARLY_VERDICTS_MAX = 100;

/** Limits of the unacked durable events kept for re-sending (spec/runner-protocol.md §6 rule 4). */
export const OUTBOX_MAX_EVENTS = 10_000;
export const OUTBOX_MAX_BYTES = 16 * 1024 * 1024;

/** Where a session's events go: the runner's channel while the session is registered. */
export type SessionTransport = (params: SessionEventParams) => void;

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
  /** Tool calls waiting for a human's approval, by elicitation id. */
  readonly parked = new Map<string, (verdict: ApprovalVerdict) => void>();
  /**
   * Verdicts that arrived before their call parked: the server publishes the approval prompt
   * before its tool.authorize answer reaches us, so a fast human can beat the answer.
   */
  readonly earlyVerdicts = new Map<string, ApprovalVerdict>();
  /** Turn ids seen, so a re-sent turn.start is not run twice. */
  readonly seenTurns = new Set<string>();
  /** The session's MCP servers, once a turn needed them (src/runner/mcp/). */
  mcp?: McpServers;
  /** Date.now() of the last init, turn, event or ack: an idle session is released after a while. */
  lastActivity = Date.now();

  constructor(
    readonly id: string,
    init: SessionInitParams,
    private transport?: SessionTransport,
  ) {
    this.init = init;
    this.history = [...(init.history ?? [])];
    this.historyComplete = !init.history_truncated;
    this.nextSeq = init.next_seq;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /**
   * No turn, nothing queued, every durable event acknowledged: the server holds everything this
   * state knows, so it can be dropped and rebuilt from the next `session.init`.
   */
  get quiescent(): boolean {
    return (
      !this.busy && this.queue.length === 0 && this.outbox.size === 0 && this.parked.size === 0
    );
  }

  /** Quiescent and untouched for `idleMs`. */
  isIdle(now: number, idleMs: number): boolean {
    return this.quiescent && now - this.lastActivity >= idleMs;
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  /** A newer init (after a reconnect or rebind) refreshes the spec and snapshot, never the seq. */
  reinit(init: SessionInitParams): void {
    this.init = init;
    this.nextSeq = Math.max(this.nextSeq, init.next_seq);
    this.touch();
    if (!this.busy) {
      this.history = [...(init.history ?? [])];
      this.historyComplete = !init.history_truncated;
    }
  }

  /**
   * Delivers a verdict to a parked tool call. While a turn runs, a verdict for a call that has
   * not parked yet is kept for it; otherwise false (nothing here waits for it).
   */
  resolveParked(elicitationId: string, verdict: ApprovalVerdict): boolean {
    const waiter = this.parked.get(elicitationId);
    if (!waiter) {
      if (!this.current || this.earlyVerdicts.size >= EARLY_VERDICTS_MAX) {
        return false;
      }
      this.earlyVerdicts.set(elicitationId, verdict);
      return true;
    }
    this.parked.delete(elicitationId);
    waiter(verdict);
    return true;
  }

  /** The session left the runner (closed, dropped, released): its events go nowhere now. */
  detach(): void {
    this.transport = undefined;
    // The session's MCP servers stop with it.
    void this.mcp?.close();
    this.mcp = undefined;
  }

  get attached(): boolean {
    return this.transport !== undefined;
  }

  /**
   * Emits one event with the next seq. Durable events wait in the outbox until acknowledged; an
   * outbox past its limits fails the running turn instead of growing without bound.
   */
  emit(event: StreamEvent, durable: boolean, turnId: string | null): void {
    const params: SessionEventParams = {
      session_id: this.id,
      seq: this.nextSeq++,
      turn_id: turnId,
      durable,
      event,
    };
    this.touch();
    if (durable) {
      const bytes = Buffer.byteLength(JSON.stringify(params));
      if (this.outbox.size >= OUTBOX_MAX_EVENTS || this.outboxBytes + bytes > OUTBOX_MAX_BYTES) {
        this.current?.abort.abort(
          new HarnessError('outbox_overflow', 'Too many events are waiting for the server'),
        );
        return;
      }
      this.outbox.set(params.seq, { params, bytes });
      this.outboxBytes += bytes;
    }
    this.transport?.(params);
  }

  /** A `session.status` event (durable). */
  status(status: 'running' | 'idle' | 'failed', error?: ErrorDetail, turnId?: string): void {
    this.emit(
      {
        type: 'session.status',
        conversation_id: this.id,
        status,
        error: error ?? null,
        response_id: turnId ?? null,
      },
      true,
      turnId ?? null,
    );
  }

  /** The durable events the server has not acknowledged, in seq order (re-sent on reconnect). */
  unacked(): SessionEventParams[] {
    return [...this.outbox.keys()]
      .sort((a, b) => a - b)
      .map((seq) => this.outbox.get(seq)?.params as SessionEventParams);
  }

  ack(seq: number): void {
    this.touch();
    for (const [key, entry] of this.outbox) {
      if (key <= seq) {
        this.outbox.delete(key);
        this.outboxBytes -= entry.bytes;
      }
    }
  }
}
