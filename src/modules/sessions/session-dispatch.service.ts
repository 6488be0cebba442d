import { Injectable, Logger } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { LOCAL_USER_ID } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, newId } from 'src/common/ids/ids';
import { flattenItem, parseItemData } from 'src/protocol/items';
import { ClientToolSpec } from 'src/protocol/runner-protocol';
import { responseObject } from 'src/protocol/stream-events';
import { SessionEventInputDto } from 'src/modules/sessions/dto/session-request.dto';
import { EventAckResponseDto } from 'src/modules/sessions/dto/session-response.dto';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { RunnerLink } from 'src/modules/sessions/runner-link.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { isBusy, SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';

/** Client-facing event types `POST …/events` accepts (spec/api-reference.md §3.8). */
export const CLIENT_EVENT_TYPES = [
  'message',
  'function_call_output',
  'compaction',
  'interrupt',
  'stop_session',
  'retry_session',
] as const;
type ClientEventType = (typeof CLIENT_EVENT_TYPES)[number];

const nowSeconds = () => Math.floor(Date.now() / 1000);
const invalid = (message: string) => new DomainError(ErrorCode.InvalidInput, message);

/**
 * `POST /v1/sessions/{id}/events`: validates per type, then persists, forwards to the runner,
 * or both (persist before forward: a message the runner never got is still in the transcript,
 * and the client learns it through a 503 and `session.status failed`).
 */
@Injectable()
export class SessionDispatchService {
  private readonly logger = new Logger('SessionDispatch');

  constructor(
    private readonly access: SessionAccessService,
    private readonly events: SessionEventsService,
    private readonly items: ItemsRepository,
    private readonly runnerLink: RunnerLink,
    private readonly sessions: SessionsRepository,
  ) {}

  async post(
    auth: AuthPrincipal,
    sessionId: string,
    input: SessionEventInputDto,
  ): Promise<EventAckResponseDto> {
    if (!(CLIENT_EVENT_TYPES as readonly string[]).includes(input.type)) {
      throw invalid(
        `Unknown event type '${input.type}'; allowed: ${CLIENT_EVENT_TYPES.join(', ')}`,
      );
    }
    const type = input.type as ClientEventType;
    const level = type === 'stop_session' ? SessionLevel.Owner : SessionLevel.Edit;
    const session = await this.access.require(auth, sessionId, level);
    if (input.created_by !== undefined && input.created_by !== null) {
      throw new DomainError(
        ErrorCode.Forbidden,
        'created_by is reserved for runner-originated events',
      );
    }
    switch (type) {
      case 'message':
        return this.message(auth, session, input);
      case 'function_call_output':
        return this.functionCallOutput(session, input);
      case 'compaction':
        return this.compaction(session, input);
      case 'interrupt':
        return this.interrupt(session, 'user_interrupt');
      case 'stop_session':
        return this.interrupt(session, 'stop');
      case 'retry_session':
        return this.retry(session);
    }
  }

  private parse(
    type: 'message' | 'function_call_output' | 'compaction',
    data: unknown,
  ): Record<string, unknown> {
    const parsed = parseItemData(type, data ?? {});
    if ('error' in parsed) {
      throw invalid(`Invalid data payload for event type ${type}: ${parsed.error}`);
    }
    return parsed.data;
  }

  private async message(
    auth: AuthPrincipal,
    session: SessionEntity,
    input: SessionEventInputDto,
  ): Promise<EventAckResponseDto> {
    const data = this.parse('message', input.data);
    if (data.role === 'assistant') {
      return this.persistItem(
        session,
        'message',
        data,
        newId(IdPrefix.Message),
        newId(IdPrefix.Response),
      );
    }
    const clientTools = this.clientTools(input.tools);
    if (!this.runnerLink.isReachable(session)) {
      throw new DomainError(
        ErrorCode.RunnerUnavailable,
        session.runnerId
          ? `Runner ${session.runnerId} is not connected`
          : 'No runner bound for session',
      );
    }
    const turnId = newId(IdPrefix.Response);
    const itemId = newId(IdPrefix.Message);
    const createdBy = auth.userId === LOCAL_USER_ID ? null : auth.userId;
    const runningPublished = await this.events.locked(session.id, async (s) => {
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
          id: itemId,
          response_id: turnId,
          type: 'message',
          status: 'completed',
          created_by: createdBy,
          data,
        },
      ]);
      s.emit('session.input.consumed', {
        data: { item_id: stored.id, type: 'message', data, created_by: createdBy },
      });
      return idle;
    });
    if (runningPublished === undefined) {
      throw new DomainError(ErrorCode.NotFound, `Session ${session.id} does not exist`);
    }
    try {
      await this.runnerLink.startTurn(session, {
        session_id: session.id,
        turn_id: turnId,
        input: { item_id: itemId, role: 'user', content: data.content as unknown[] },
        overrides: {
          model: input.model_override ?? session.modelOverride,
          reasoning_effort: session.reasoningEffort,
        },
        client_tools: clientTools,
        running_published: runningPublished,
      });
    } catch (error) {
      const message = `The message was saved, but the runner did not accept it: ${(error as Error).message}`;
      this.logger.warn(`turn.start of ${session.id} failed: ${(error as Error).message}`);
      await this.fail(session.id, turnId, { code: 'runner_unavailable', message });
      throw new DomainError(ErrorCode.RunnerUnavailable, message);
    }
    return { queued: true, item_id: itemId };
  }

  private clientTools(
    tools: Record<string, unknown>[] | null | undefined,
  ): ClientToolSpec[] | undefined {
    if (!tools) {
      return undefined;
    }
    return tools.map((tool, index) => {
      const fn = (
        tool.type === 'function' && typeof tool.function === 'object' ? tool.function : tool
      ) as Record<string, unknown>;
      if (typeof fn.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(fn.name)) {
        throw invalid(`tools[${index}] must be an OpenAI function tool with a valid name`);
      }
      return {
        name: fn.name,
        description: typeof fn.description === 'string' ? fn.description : undefined,
        parameters:
          typeof fn.parameters === 'object' && fn.parameters !== null
            ? (fn.parameters as Record<string, unknown>)
            : undefined,
      };
    });
  }

  private async functionCallOutput(
    session: SessionEntity,
    input: SessionEventInputDto,
  ): Promise<EventAckResponseDto> {
    const data = this.parse('function_call_output', input.data);
    if (!this.runnerLink.isReachable(session)) {
      throw new DomainError(ErrorCode.RunnerUnavailable, 'No runner connected for session');
    }
    const delivered = await this.runnerLink.clientToolResult(session, {
      session_id: session.id,
      call_id: data.call_id as string,
      output: data.output as string,
    });
    if (!delivered) {
      throw new DomainError(
        ErrorCode.Conflict,
        `No client tool call '${String(data.call_id)}' is waiting for output`,
      );
    }
    return { queued: true, item_id: data.call_id as string };
  }

  private compaction(
    session: SessionEntity,
    input: SessionEventInputDto,
  ): Promise<EventAckResponseDto> {
    const data = this.parse('compaction', input.data);
    return this.persistItem(
      session,
      'compaction',
      data,
      newId('cmp'),
      `compact_${newId(IdPrefix.Response).slice(5)}`,
    );
  }

  /** Item types that are stored as they are (no runner involved), then announced on the stream. */
  private async persistItem(
    session: SessionEntity,
    type: 'message' | 'compaction',
    data: Record<string, unknown>,
    itemId: string,
    responseId: string,
  ): Promise<EventAckResponseDto> {
    await this.events.locked(session.id, async (s) => {
      const [stored] = await s.upsertItems([
        { id: itemId, response_id: responseId, type, status: 'completed', created_by: null, data },
      ]);
      s.emit('response.output_item.done', { item: flattenItem(stored) });
    });
    return { queued: true, item_id: itemId };
  }

  /**
   * Interrupt (and stop): announce it, fence the turn's trailing deltas, ask the runner to cancel.
   * If the runner cannot confirm, the server ends the turn itself so the session never stays
   * "running" (spec/runner-protocol.md F6).
   */
  private async interrupt(
    session: SessionEntity,
    reason: 'user_interrupt' | 'stop',
  ): Promise<EventAckResponseDto> {
    const turnId =
      (await this.events.locked(session.id, async (s) => {
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
    if (reason === 'stop') {
      this.runnerLink.closed(session, 'stopped');
    }
    if (!cancelled) {
      await this.finishInterrupted(session.id, turnId);
    }
    return { queued: false };
  }

  /** Ends a turn the runner could not cancel: `response.incomplete` + `idle`, only if still running. */
  private async finishInterrupted(sessionId: string, turnId: string | null): Promise<void> {
    await this.events.locked(sessionId, async (s) => {
      if (!isBusy(s.row.liveStatus)) {
        return;
      }
      if (turnId) {
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

  private async retry(session: SessionEntity): Promise<EventAckResponseDto> {
    if (!this.runnerLink.isReachable(session)) {
      throw new DomainError(
        ErrorCode.RunnerUnavailable,
        'No runner connected for session; start or bind one',
      );
    }
    await this.runnerLink.init(session);
    return { queued: false, recovered: true, recovery: 'already_connected' };
  }

  /** Marks the turn failed (nobody will run it) and tells the stream. */
  async fail(
    sessionId: string,
    turnId: string | null,
    error: { code: string; message: string },
  ): Promise<void> {
    await this.events.locked(sessionId, async (s) => {
      if (turnId) {
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
  }
}
