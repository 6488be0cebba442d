import { Injectable, Logger } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { LOCAL_USER_ID } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, newId } from 'src/common/ids/ids';
import { flattenItem } from 'src/protocol/items';
import { ErrorDetail, responseObject, StreamEvent } from 'src/protocol/stream-events';
import { SessionEventInputDto } from 'src/modules/sessions/dto/session-request.dto';
import { EventAckResponseDto } from 'src/modules/sessions/dto/session-response.dto';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { isBusy, SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionError } from 'src/modules/sessions/sessions.errors';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { HostLaunchService } from 'src/modules/sessions/turns/host-launch.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnInterruptService } from 'src/modules/sessions/turns/turn-interrupt.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import {
  approvalData,
  CLIENT_EVENT_TYPES,
  clientTools,
  eventData,
  isClientEventType,
  nowSeconds,
} from 'src/modules/sessions/turns/turn-input.util';

/**
 * The one owner of a session's turn: start, queue, interrupt, fail, and the meaning of the
 * runner's events. Every write to `liveStatus`, `currentTurnId`, `cancelRequestedTurnId` and
 * `lastError`, and every server-made `session.status` / `response.*` event, happens here or in
 * its two parts (TurnInterruptService: interrupt and stop; TurnEventsService: the runner's
 * events), inside a locked-session unit of work (persisted state and logged events agree).
 *
 * A user message is persisted before it is forwarded (a message the runner never got is still
 * in the transcript, and the client learns it through a 503 and `session.status failed`).
 */
@Injectable()
export class TurnsService {
  private readonly logger = new Logger('Turns');

  constructor(
    private readonly access: SessionAccessService,
    private readonly quotas: SessionQuotasService,
    private readonly hostLaunch: HostLaunchService,
    private readonly interrupts: TurnInterruptService,
    private readonly policyHooks: TurnPolicyHooks,
    private readonly metrics: MetricsService,
    private readonly runnerLink: RunnerLinkService,
    private readonly stream: SessionEventsService,
  ) {}

  /** `POST /v1/sessions/{id}/events`. */
  async post(
    auth: AuthPrincipal,
    sessionId: string,
    input: SessionEventInputDto,
  ): Promise<EventAckResponseDto> {
    const type = input.type;
    if (!isClientEventType(type)) {
      throw SessionError.invalid(
        `Unknown event type '${type}'; allowed: ${CLIENT_EVENT_TYPES.join(', ')}`,
      );
    }
    const level = type === 'stop_session' ? SessionLevel.Owner : SessionLevel.Edit;
    const userMessage = type === 'message' ? plainUserMessage(auth, input) : undefined;
    if (userMessage) {
      return this.postUserMessage(auth, sessionId, userMessage);
    }
    // The item quota is read by the access check's statement (one statement on the path of
    // every message, not two; issue 12), and looked at only once access is granted: its answer
    // never reaches a caller the check refuses.
    const counted = type === 'message' || type === 'compaction';
    const { session, itemCount } = counted
      ? await this.access.requireWithItemCount(auth, sessionId, level)
      : { session: await this.access.require(auth, sessionId, level), itemCount: null };
    if (input.created_by !== undefined && input.created_by !== null) {
      throw new DomainError(
        ErrorCode.Forbidden,
        'created_by is reserved for runner-originated events',
      );
    }
    if (itemCount !== null) {
      this.quotas.checkItems(itemCount);
    }
    switch (type) {
      case 'message':
        return this.message(auth, session, input);
      case 'function_call_output':
        return this.runnerLink.deliverToolOutput(
          session,
          eventData('function_call_output', input.data),
        );
      case 'compaction':
        return this.storeItem(session, 'compaction', eventData('compaction', input.data));
      case 'interrupt':
        return this.interrupts.interrupt(session, 'user_interrupt');
      case 'stop_session':
        return this.interrupts.interrupt(session, 'stop');
      case 'retry_session':
        return this.runnerLink.reinit(await this.withHostRunner(session));
      case 'approval':
        return this.approval(auth, session, input.data);
    }
  }

  /**
   * A user message that parsed (no 422 to answer, no `created_by`): checked and recorded by one
   * unit of work, one round trip less than the access check's read before it (issue 12). The
   * access check and the item quota look at the locked row (and its item count, read by the
   * locking statement), their errors in the same order as before. What must not run under the
   * row lock makes the unit end without writing, and the message takes the path of `message`
   * with the row already read: a request gate that needs an evaluation (or a read to know; the
   * unit may not read on another connection, style rule 7), and a runner not connected here
   * (the host relaunch, or the 503 after the gate).
   */
  private async postUserMessage(
    auth: AuthPrincipal,
    sessionId: string,
    message: PlainUserMessage,
  ): Promise<EventAckResponseDto> {
    const turnId = newId(IdPrefix.Response);
    const itemId = newId(IdPrefix.Message);
    const input = { itemId, data: message.data, createdBy: message.createdBy };
    const outcome = await this.stream.locked(
      sessionId,
      async (s) => {
        const session = this.access.check(auth, sessionId, s.row, SessionLevel.Edit);
        this.quotas.checkItems(s.itemCount ?? 0);
        if (!this.requestGateIsOpen(session) || !this.runnerLink.isReachable(session)) {
          return { session, started: null };
        }
        // Before the turn is recorded as running (see startInput).
        this.runnerLink.noteTurn(session, turnId);
        return { session, started: this.record(s, turnId, input) };
      },
      // Without the locking round trip when the last unit of the session ran here (the turn
      // before's): the row and its item count are checked by the unit's one statement.
      { countItems: true, optimistic: true },
    );
    if (!outcome) {
      // The access check's answer for a session that does not exist.
      throw SessionError.notFound(sessionId);
    }
    const { session, started } = outcome;
    if (started === null) {
      return this.message(auth, session, message.input);
    }
    return this.dispatch(session, turnId, input, started, {
      tools: message.tools,
      model: message.input.model_override ?? session.modelOverride,
    });
  }

  /** No policy gate, or one that allows every message of the session without evaluating. */
  private requestGateIsOpen(session: SessionEntity): boolean {
    const gate = this.policyHooks.get();
    return !gate || gate.requestGateIsOpen(session);
  }

  private async message(
    auth: AuthPrincipal,
    session: SessionEntity,
    input: SessionEventInputDto,
  ): Promise<EventAckResponseDto> {
    const data = eventData('message', input.data);
    if (data.role === 'assistant') {
      const gate = await this.policyHooks.get()?.gateResponse(session, data);
      if (gate?.decision === 'deny') {
        return { queued: false, denied: true, reason: gate.reason };
      }
      return this.storeItem(session, 'message', gate?.data ?? data);
    }
    const tools = clientTools(input.tools);
    const createdBy = auth.userId === LOCAL_USER_ID ? null : auth.userId;
    const gate = await this.policyHooks.get()?.gateRequest(auth, session, { data, createdBy });
    if (gate?.decision === 'deny') {
      await this.denyInput(session.id, gate.reason);
      return { queued: false, denied: true, reason: gate.reason };
    }
    if (gate?.decision === 'ask') {
      return { queued: false, elicitation_id: gate.elicitation_id };
    }
    return this.startInput(session, data, {
      tools,
      model: input.model_override ?? session.modelOverride,
      createdBy,
    });
  }

  private async approval(
    auth: AuthPrincipal,
    session: SessionEntity,
    data: unknown,
  ): Promise<EventAckResponseDto> {
    const approval = approvalData(data);
    const gate = this.policyHooks.get();
    if (!gate) {
      throw new DomainError(
        ErrorCode.NotFound,
        `Elicitation ${approval.elicitationId} does not exist`,
      );
    }
    return gate.resolveApproval(auth, session, approval);
  }

  /** A user message whose request-phase approval was accepted: it runs now (F4a step 3). */
  async runApprovedInput(
    session: SessionEntity,
    data: Record<string, unknown>,
    createdBy: string | null,
  ): Promise<void> {
    await this.startInput(session, data, { model: session.modelOverride, createdBy });
  }

  /**
   * The input-DENY sequence (api-reference §4.6): a `[Denied by policy: …]` sentinel streamed,
   * stored and completed as a synthetic response; the session ends idle unless a turn runs.
   */
  async denyInput(sessionId: string, reason: string): Promise<void> {
    const hex = newId(IdPrefix.Message).slice(4);
    const responseId = `deny_${hex}`;
    const text = `[Denied by policy: ${reason}]`;
    this.stream.publishTransient(sessionId, {
      type: 'response.output_text.delta',
      delta: text,
      message_id: responseId,
      index: 0,
    } as StreamEvent);
    await this.stream.locked(sessionId, async (s) => {
      const [stored] = await s.upsertItems([
        {
          id: `msg_${hex}`,
          response_id: responseId,
          type: 'message',
          status: 'completed',
          created_by: null,
          data: { role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] },
        },
      ]);
      const item = flattenItem(stored);
      s.emit('response.output_item.done', { item });
      s.emit('response.completed', {
        response: responseObject({
          id: responseId,
          status: 'completed',
          completed_at: nowSeconds(),
          output: [item],
        }),
      });
      if (!isBusy(s.row.liveStatus)) {
        s.patch({ liveStatus: 'idle' });
        s.emit('session.status', { status: 'idle', response_id: responseId });
      }
    });
  }

  private async startInput(
    session: SessionEntity,
    data: Record<string, unknown>,
    options: {
      tools?: ReturnType<typeof clientTools>;
      model: string | null;
      createdBy: string | null;
    },
  ): Promise<EventAckResponseDto> {
    const { tools, createdBy } = options;
    try {
      session = await this.withHostRunner(session);
    } catch (error) {
      if (isHostRefusal(error)) {
        return this.refusedByHost(createdBy, session, data, error);
      }
      throw error;
    }
    if (!this.runnerLink.isReachable(session)) {
      throw SessionError.runnerUnavailable(
        session.runnerId
          ? `Runner ${session.runnerId} is not connected`
          : 'No runner bound for session',
      );
    }
    const turnId = newId(IdPrefix.Response);
    const itemId = newId(IdPrefix.Message);
    // Before the turn is recorded as running: a hello being reconciled on this connection must
    // not take it for a turn the runner lost.
    this.runnerLink.noteTurn(session, turnId);
    const input = { itemId, data, createdBy };
    const runningPublished = await this.queue(session.id, turnId, input);
    return this.dispatch(session, turnId, input, runningPublished, {
      tools,
      model: options.model,
    });
  }

  /**
   * `turn.start` of a recorded message (`runningPublished`: its unit started the turn); a
   * refusal fails the turn and answers 503.
   */
  private async dispatch(
    session: SessionEntity,
    turnId: string,
    input: { itemId: string; data: Record<string, unknown> },
    runningPublished: boolean,
    options: { tools?: ReturnType<typeof clientTools>; model: string | null },
  ): Promise<EventAckResponseDto> {
    const { itemId, data } = input;
    try {
      await this.runnerLink.startTurn(session, {
        session_id: session.id,
        turn_id: turnId,
        input: { item_id: itemId, role: 'user', content: data.content as unknown[] },
        overrides: {
          model: options.model,
          reasoning_effort: session.reasoningEffort,
        },
        client_tools: options.tools,
        running_published: runningPublished,
      });
    } catch (error) {
      const message = `The message was saved, but the runner did not accept it: ${(error as Error).message}`;
      this.logger.warn(`turn.start of ${session.id} failed: ${(error as Error).message}`);
      await this.fail(session.id, turnId, { code: 'runner_unavailable', message });
      throw SessionError.runnerUnavailable(message);
    }
    return { queued: true, item_id: itemId };
  }

  /**
   * A sub-agent's first turn (`session.create_child`): its task is stored and announced and the
   * turn recorded as running, as for a posted message; the runner that asked runs the turn itself.
   */
  async startChildTurn(
    child: SessionEntity,
    turnId: string,
    input: { itemId: string; data: Record<string, unknown> },
  ): Promise<void> {
    this.runnerLink.noteTurn(child, turnId);
    await this.queue(child.id, turnId, { ...input, createdBy: null });
  }

  /** A host-bound session whose runner is gone gets a new one there (spec/runner-protocol.md F4). */
  private async withHostRunner(session: SessionEntity): Promise<SessionEntity> {
    return session.hostId && !this.runnerLink.isReachable(session)
      ? this.hostLaunch.ensureRunner(session)
      : session;
  }

  /**
   * The host refused to relaunch the runner (harness not configured, workspace gone): as
   * upstream, the message is kept and its turn fails with the refusal; the post itself succeeds.
   */
  private async refusedByHost(
    createdBy: string | null,
    session: SessionEntity,
    data: Record<string, unknown>,
    error: DomainError,
  ): Promise<EventAckResponseDto> {
    const turnId = newId(IdPrefix.Response);
    const itemId = newId(IdPrefix.Message);
    await this.queue(session.id, turnId, {
      itemId,
      data,
      createdBy,
    });
    await this.fail(session.id, turnId, { code: error.code, message: error.message });
    return { queued: true, item_id: itemId };
  }

  /**
   * Stores the user's message as the input of turn `turnId` and announces it. An idle session
   * starts that turn (`running`, announced first); a busy one queues it behind the current turn
   * on the runner. Returns whether this started the turn.
   */
  private async queue(
    sessionId: string,
    turnId: string,
    input: { itemId: string; data: Record<string, unknown>; createdBy: string | null },
  ): Promise<boolean> {
    const started = await this.stream.locked(sessionId, (s) =>
      Promise.resolve(this.record(s, turnId, input)),
    );
    if (started === undefined) {
      throw SessionError.notFound(sessionId);
    }
    return started;
  }

  /** `queue`'s work on the locked session; returns whether it started the turn. */
  private record(
    s: LockedSession,
    turnId: string,
    input: { itemId: string; data: Record<string, unknown>; createdBy: string | null },
  ): boolean {
    const idle = !isBusy(s.row.liveStatus);
    if (idle) {
      s.patch({
        liveStatus: 'running',
        lastError: null,
        currentTurnId: turnId,
        cancelRequestedTurnId: null,
      });
      s.emit('session.status', { status: 'running', response_id: turnId });
    }
    // Written with the unit's log (one round trip less on the way to turn.start): its event
    // needs only the id minted here, not the stored row.
    s.insertItems([
      {
        id: input.itemId,
        response_id: turnId,
        type: 'message',
        status: 'completed',
        created_by: input.createdBy,
        data: input.data,
      },
    ]);
    s.emit('session.input.consumed', {
      data: {
        item_id: input.itemId,
        type: 'message',
        data: input.data,
        created_by: input.createdBy,
      },
    });
    return idle;
  }

  /** Items stored as they are, no runner involved (assistant messages, compactions). */
  private async storeItem(
    session: SessionEntity,
    type: 'message' | 'compaction',
    data: Record<string, unknown>,
  ): Promise<EventAckResponseDto> {
    const itemId = type === 'message' ? newId(IdPrefix.Message) : newId('cmp');
    const responseId =
      type === 'message'
        ? newId(IdPrefix.Response)
        : `compact_${newId(IdPrefix.Response).slice(5)}`;
    await this.stream.locked(session.id, async (s) => {
      const [stored] = await s.upsertItems([
        { id: itemId, response_id: responseId, type, status: 'completed', created_by: null, data },
      ]);
      s.emit('response.output_item.done', { item: flattenItem(stored) });
    });
    return { queued: true, item_id: itemId };
  }

  /**
   * Fails the turn (nobody will run it: the runner refused it, or died) and tells the stream:
   * `response.failed` and an error item, unless the turn already ended (one terminal per turn).
   * With `ifCurrent`, only while the session is still busy with that turn.
   */
  async fail(
    sessionId: string,
    turnId: string | null,
    error: ErrorDetail,
    options: { ifCurrent?: boolean } = {},
  ): Promise<void> {
    await this.stream.locked(sessionId, async (s) => {
      // A sweep decided on a read taken earlier: the session may have moved on since.
      if (options.ifCurrent && (!isBusy(s.row.liveStatus) || s.row.currentTurnId !== turnId)) {
        return;
      }
      if (turnId && (await s.claimTerminal(turnId, 'response.failed'))) {
        s.emitItem({
          id: newId(IdPrefix.Error),
          response_id: turnId,
          type: 'error',
          status: 'completed',
          created_by: null,
          data: { source: 'execution', code: error.code, message: error.message },
        });
        this.metrics.recordTurn('failed');
        s.emit('response.failed', {
          response: responseObject({
            id: turnId,
            status: 'failed',
            completed_at: nowSeconds(),
            error,
          }),
        });
      }
      s.patch({ liveStatus: 'failed', lastError: error, currentTurnId: null });
      s.emit('session.status', { status: 'failed', error, response_id: turnId });
    });
    await this.policyHooks.get()?.turnEnded(sessionId, turnId);
  }
}

/** A posted user message, parsed as `message` would parse it. */
interface PlainUserMessage {
  input: SessionEventInputDto;
  data: Record<string, unknown>;
  tools: ReturnType<typeof clientTools>;
  createdBy: string | null;
}

/**
 * The message parsed, when it is a user message `message` would accept as it is: undefined for
 * one that has a 4xx of its own to answer after the access check (`created_by`, a 422) and
 * for an assistant message.
 */
function plainUserMessage(
  auth: AuthPrincipal,
  input: SessionEventInputDto,
): PlainUserMessage | undefined {
  if (input.created_by !== undefined && input.created_by !== null) {
    return undefined;
  }
  try {
    const data = eventData('message', input.data);
    return data.role === 'assistant'
      ? undefined
      : {
          input,
          data,
          tools: clientTools(input.tools),
          createdBy: auth.userId === LOCAL_USER_ID ? null : auth.userId,
        };
  } catch {
    return undefined;
  }
}

function isHostRefusal(error: unknown): error is DomainError {
  return (
    error instanceof DomainError &&
    (error.code === ErrorCode.HarnessNotConfigured || error.code === ErrorCode.WorkspaceMissing)
  );
}
