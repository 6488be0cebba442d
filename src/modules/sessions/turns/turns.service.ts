import { Injectable, Logger } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { LOCAL_USER_ID } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, isItemId, newId } from 'src/common/ids/ids';
import { flattenItem, unflattenItem } from 'src/protocol/items';
import {
  ErrorDetail,
  InvalidStreamEventError,
  isKnownEventType,
  normalizeStreamEvent,
  RawStreamEvent,
  responseObject,
  StreamEvent,
  StreamEventOf,
  TerminalResponseEvent,
} from 'src/protocol/stream-events';
import { SessionEventInputDto } from 'src/modules/sessions/dto/session-request.dto';
import { EventAckResponseDto } from 'src/modules/sessions/dto/session-response.dto';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { MetricsService, TurnOutcome } from 'src/modules/metrics/metrics.service';
import { isBusy, SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionError } from 'src/modules/sessions/sessions.errors';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { HostLaunchService } from 'src/modules/sessions/turns/host-launch.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import { addUsage } from 'src/modules/sessions/usage-totals';
import {
  approvalData,
  CLIENT_EVENT_TYPES,
  clientTools,
  eventData,
  failureOf,
  isClientEventType,
  nowSeconds,
} from 'src/modules/sessions/turns/turn-input.util';

/**
 * The one owner of a session's turn: start, queue, interrupt, fail, and the meaning of the
 * runner's events. Every write to `liveStatus`, `currentTurnId`, `cancelRequestedTurnId` and
 * `lastError`, and every server-made `session.status` / `response.*` event, happens here,
 * inside a locked-session unit of work (so persisted state and logged events never disagree).
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
    private readonly policyHooks: TurnPolicyHooks,
    private readonly metrics: MetricsService,
    private readonly runnerLink: RunnerLinkService,
    private readonly sessions: SessionsRepository,
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
    const session = await this.access.require(auth, sessionId, level);
    if (input.created_by !== undefined && input.created_by !== null) {
      throw new DomainError(
        ErrorCode.Forbidden,
        'created_by is reserved for runner-originated events',
      );
    }
    if (type === 'message' || type === 'compaction') {
      await this.quotas.checkItems(session.id);
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
        return this.interrupt(session, 'user_interrupt');
      case 'stop_session':
        return this.interrupt(session, 'stop');
      case 'retry_session':
        return this.runnerLink.reinit(await this.withHostRunner(session));
      case 'approval':
        return this.approval(auth, session, input.data);
    }
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
    const runningPublished = await this.queue(session.id, turnId, { itemId, data, createdBy });
    try {
      await this.runnerLink.startTurn(session, {
        session_id: session.id,
        turn_id: turnId,
        input: { item_id: itemId, role: 'user', content: data.content as unknown[] },
        overrides: {
          model: options.model,
          reasoning_effort: session.reasoningEffort,
        },
        client_tools: tools,
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
    const started = await this.stream.locked(sessionId, async (s) => {
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
      const [stored] = await s.upsertItems([
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
          item_id: stored.id,
          type: 'message',
          data: input.data,
          created_by: input.createdBy,
        },
      });
      return idle;
    });
    if (started === undefined) {
      throw SessionError.notFound(sessionId);
    }
    return started;
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
   * Interrupt (and stop): announce it, fence the turn's trailing deltas, ask the runner to cancel.
   * If the runner cannot confirm, the turn ends here so the session never stays "running"
   * (spec/runner-protocol.md F6).
   */
  private async interrupt(
    session: SessionEntity,
    reason: 'user_interrupt' | 'stop',
  ): Promise<EventAckResponseDto> {
    const turnId =
      (await this.stream.locked(session.id, async (s) => {
        const current = s.row.currentTurnId;
        s.patch({ cancelRequestedTurnId: current });
        s.emit('session.interrupted', {
          data: { requested_at: nowSeconds(), response_id: current },
        });
        return current;
      })) ?? null;
    const cancelled = await this.runnerLink.cancelTurn(session, {
      session_id: session.id,
      turn_id: turnId,
      reason,
    });
    await this.policyHooks.get()?.turnEnded(session.id, turnId);
    if (reason === 'stop') {
      this.runnerLink.closed(session, 'stopped');
    }
    if (!cancelled) {
      await this.finishInterrupted(session.id, turnId);
    }
    // Its running sub-agents stop with it (their pending approvals withdrawn with their turns).
    for (const child of await this.sessions.listBusyChildren(session.id)) {
      await this.interrupt(child, 'user_interrupt');
    }
    return { queued: false };
  }

  /** Ends a turn the runner could not cancel: `response.incomplete` + `idle`, only if still busy. */
  private async finishInterrupted(sessionId: string, turnId: string | null): Promise<void> {
    await this.stream.locked(sessionId, async (s) => {
      if (!isBusy(s.row.liveStatus)) {
        return;
      }
      if (turnId && (await s.claimTerminal(turnId, 'response.incomplete'))) {
        s.emit('response.incomplete', {
          response: responseObject({
            id: turnId,
            status: 'incomplete',
            completed_at: nowSeconds(),
            incomplete_details: { reason: 'user_interrupt' },
          }),
        });
      }
      s.patch({ liveStatus: 'idle', currentTurnId: null });
      s.emit('session.status', { status: 'idle', response_id: turnId });
    });
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

  /** A transient runner event (a delta): relayed unless its turn was interrupted (fenced). */
  relayTransient(session: SessionEntity, turnId: string | null, event: StreamEvent): void {
    if (turnId && session.cancelRequestedTurnId === turnId) {
      return;
    }
    this.stream.publishTransient(session.id, event);
  }

  /**
   * What a durable runner event means for the session, inside the ingest's unit of work.
   * Exhaustive over the event union, so a new upstream event type fails lint until it is
   * decided here. Throws InvalidStreamEventError for an event that cannot be applied.
   */
  async applyRunnerEvent(
    s: LockedSession,
    raw: RawStreamEvent,
    turnId: string | null,
  ): Promise<void> {
    if (!isKnownEventType(raw.type)) {
      throw new InvalidStreamEventError(`unknown event type '${raw.type}'`);
    }
    const event = normalizeStreamEvent(raw, s.id);
    switch (event.type) {
      case 'session.status':
        this.applyStatus(s, event.status, raw.error);
        break;
      case 'response.created':
      case 'response.in_progress':
        s.patch({ currentTurnId: event.response.id });
        break;
      case 'response.output_item.done': {
        const parsed = unflattenItem(event.item);
        if ('error' in parsed || !isItemId(parsed.item.id)) {
          throw new InvalidStreamEventError('error' in parsed ? parsed.error : 'invalid item id');
        }
        // Stored with the unit's other items in one statement; dropped if the id is another item's.
        s.emitItem({
          ...parsed.item,
          response_id: turnId ?? parsed.item.response_id,
          created_by: null,
        });
        return;
      }
      case 'response.completed':
      case 'response.failed':
      case 'response.incomplete':
      case 'response.cancelled':
        if (!(await this.finishResponse(s, event, raw))) {
          return;
        }
        break;
      // Never relayed: the server owns these (runner-protocol §6 rule 6), transient types never
      // get here (durability is decided by type), and stream.reset is ours.
      case 'response.elicitation_request':
      case 'response.elicitation_resolved':
      case 'session.input.consumed':
      case 'session.interrupted':
      case 'response.output_text.delta':
      case 'response.function_call_output.delta':
      case 'response.reasoning.started':
      case 'response.reasoning_text.delta':
      case 'response.reasoning_summary_text.delta':
      case 'session.heartbeat':
      case 'response.heartbeat':
      case 'session.presence':
      case 'session.terminal.activity':
      case 'stream.reset':
        return;
      // Relayed as they are.
      case 'browser.action_request':
      case 'response.client_task.cancel':
      case 'response.compaction.completed':
      case 'response.compaction.failed':
      case 'response.compaction.in_progress':
      case 'response.error':
      case 'response.output_file.done':
      case 'response.policy_denied':
      case 'response.queued':
      case 'response.retry':
      case 'session.agent_changed':
      case 'session.changed_files.invalidated':
      case 'session.child_session.updated':
      case 'session.collaboration_mode':
      case 'session.created':
      case 'session.mcp_startup':
      case 'session.model':
      case 'session.model_options':
      case 'session.permission_mode':
      case 'session.reasoning_effort':
      case 'session.resource.created':
      case 'session.resource.deleted':
      case 'session.sandbox_status':
      case 'session.skills':
      case 'session.superseded':
      case 'session.terminal_pending':
      case 'session.title':
      case 'session.todos':
      case 'session.usage':
      case 'turn.cancelled':
      case 'turn.completed':
      case 'turn.failed':
      case 'turn.started':
        break;
    }
    s.relay(event);
  }

  /** The runner's `session.status`: a failure is kept as `lastError`, an end clears the turn. */
  private applyStatus(
    s: LockedSession,
    status: StreamEventOf<'session.status'>['status'],
    rawError: unknown,
  ): void {
    if (status === 'launching') {
      throw new InvalidStreamEventError(`invalid session status '${status}'`);
    }
    s.patch({ liveStatus: status });
    if (status === 'running') {
      s.patch({ lastError: null });
    }
    if (status === 'failed') {
      s.patch({ lastError: failureOf(rawError) });
    }
    if (status === 'idle' || status === 'failed') {
      s.patch({ currentTurnId: null, cancelRequestedTurnId: null });
    }
  }

  /**
   * A terminal `response.*`: the turn is over; a failure also becomes an error item. False (the
   * event is dropped) when the turn already ended: the server failed it while the runner was
   * away, or this is a replay (one terminal event per turn, finding 4).
   */
  private async finishResponse(
    s: LockedSession,
    event: TerminalResponseEvent,
    raw: RawStreamEvent,
  ): Promise<boolean> {
    const { response } = event;
    if (!(await s.claimTerminal(response.id, event.type))) {
      this.logger.warn(`Dropped ${event.type} of ${response.id}: the turn already ended`);
      if (s.row.currentTurnId === response.id) {
        s.patch({ currentTurnId: null });
      }
      return false;
    }
    this.metrics.recordTurn(
      event.type.slice('response.'.length) as TurnOutcome,
      response.created_at,
    );
    if (s.row.currentTurnId === response.id) {
      s.patch({ currentTurnId: null });
    }
    if (typeof response.usage?.total_tokens === 'number') {
      s.patch({ lastTotalTokens: response.usage.total_tokens });
    }
    if (response.usage) {
      // Exactly once per turn (the terminal was claimed above), in the ingest's transaction.
      s.patch({ usageTotals: addUsage(s.row.usageTotals, response.usage, new Date()) });
    }
    if (event.type === 'response.failed') {
      const rawResponse = raw.response as { error?: unknown } | undefined;
      s.emitItem({
        id: newId(IdPrefix.Error),
        response_id: response.id,
        type: 'error',
        status: 'completed',
        created_by: null,
        data: { source: 'execution', ...failureOf(rawResponse?.error) },
      });
    }
    return true;
  }
}

function isHostRefusal(error: unknown): error is DomainError {
  return (
    error instanceof DomainError &&
    (error.code === ErrorCode.HarnessNotConfigured || error.code === ErrorCode.WorkspaceMissing)
  );
}
