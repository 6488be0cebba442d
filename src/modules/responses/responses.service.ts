import { Inject, Injectable, Logger, MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { EventBus, sessionChannel } from 'src/common/bus/event-bus';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, normalizeId } from 'src/common/ids/ids';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { normalizeStreamEvent, RawStreamEvent } from 'src/protocol/stream-events';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import { AgentsService } from 'src/modules/registry/agents.service';
import { RunnersService } from 'src/modules/runners/runners.service';
import {
  CreateResponseDto,
  GetResponseQueryDto,
  UpdateResponseDto,
} from 'src/modules/responses/dto/response-request.dto';
import {
  ResponseDeletedDto,
  ResponseObjectDto,
  TERMINAL_STATUSES,
  toResponseObject,
} from 'src/modules/responses/dto/response-response.dto';
import { ParsedInput, parseResponseInput } from 'src/modules/responses/response-input.util';
import { ResponseEntity } from 'src/modules/responses/response.entity';
import {
  endedFrames,
  responseFrames,
  sseResponse,
} from 'src/modules/responses/response-stream.util';
import { ResponseError } from 'src/modules/responses/responses.errors';
import { ResponsesRepository } from 'src/modules/responses/responses.repository';
import { TurnWatch, watchTurns } from 'src/modules/responses/turn-watch.util';
import type { SessionEventInputDto } from 'src/modules/sessions/dto/session-request.dto';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionForkService } from 'src/modules/sessions/session-fork.service';
import { SessionsService } from 'src/modules/sessions/sessions.service';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';

/** How long `cancel` waits for the runner to confirm before answering with the state it has. */
const CANCEL_WAIT_MS = 5_000;

/** What a create runs on: the chain's session, and the response it continues. */
interface Target {
  sessionId: string;
  previous: ResponseEntity | null;
  /** The agent's name, recorded as the response's `model`. */
  model: string;
}

/**
 * `/v1/responses`, an OpenAI-Responses-style surface over sessions (docs/RESPONSES.md): a chain
 * of responses is a session, a response is one of its turns (same id), `previous_response_id`
 * continues the chain, or forks it when it is not the chain's latest turn. Turns are started,
 * interrupted and streamed by the sessions feature (`TurnsService`, `SessionEventsService`);
 * this service only maps requests onto them and reads the result back.
 */
@Injectable()
export class ResponsesService {
  private readonly logger = new Logger('Responses');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: SessionAccessService,
    private readonly agents: AgentsService,
    private readonly bus: EventBus,
    private readonly events: SessionEventsService,
    private readonly forks: SessionForkService,
    private readonly responses: ResponsesRepository,
    private readonly runners: RunnersService,
    private readonly sessions: SessionsService,
    private readonly turns: TurnsService,
  ) {}

  /** `POST /v1/responses`: the final object, an SSE `Response` (`stream`), or at once (`background`). */
  async create(auth: AuthPrincipal, dto: CreateResponseDto): Promise<ResponseObjectDto | Response> {
    const input = parseResponseInput(dto.input);
    const target =
      input.kind === 'message'
        ? await this.chainFor(auth, dto, await this.resolveAgent(auth, dto.model))
        : await this.waitingResponse(auth, dto);
    const channel$ = this.bus.channel$(sessionChannel(target.sessionId));
    // Both subscribe before the turn starts, so none of its events is missed.
    const watch: TurnWatch | null = dto.stream || dto.background ? null : watchTurns(channel$);
    const stream$ = dto.stream ? await this.events.openStream(auth, target.sessionId, {}) : null;
    let responseId: string;
    try {
      responseId = await this.start(auth, target, dto, input);
    } catch (error) {
      watch?.stop();
      stream$?.subscribe().unsubscribe(); // gives back the stream's subscription and slot
      throw error;
    }
    if (stream$) {
      return sseResponse(
        responseFrames(stream$, responseId, { started: input.kind === 'tool_outputs' }),
        this.config.sse.maxPendingDataLength,
      );
    }
    if (watch) {
      const ended = await watch.ended(responseId, this.config.responses.timeoutMs).finally(() => {
        watch.stop();
      });
      if (!ended) {
        throw new DomainError(
          ErrorCode.Timeout,
          `Response ${responseId} did not finish within ${this.config.responses.timeoutMs} ms; ` +
            `it goes on: poll GET /v1/responses/${responseId} or cancel it`,
          { response_id: responseId },
        );
      }
    }
    return this.get(auth, responseId);
  }

  /** `GET /v1/responses/{id}`: the object, or with `stream` its events as SSE. */
  async get(
    auth: AuthPrincipal,
    id: string,
    query: GetResponseQueryDto = {},
  ): Promise<ResponseObjectDto | Response> {
    if (query.stream) {
      return this.streamExisting(auth, id);
    }
    const { row, session } = await this.load(auth, id, SessionLevel.Read);
    return this.objectOf(row, session);
  }

  /**
   * `PATCH /v1/responses/{id}` `{tool_results}`: the results of the response's client-side tool
   * calls (`function_call` items with status `action_required`), delivered to its turn, which
   * goes on. An ended response is a 409.
   */
  async submitToolResults(
    auth: AuthPrincipal,
    id: string,
    dto: UpdateResponseDto,
  ): Promise<ResponseObjectDto> {
    const { row, session } = await this.load(auth, id, SessionLevel.Edit);
    const current = await this.objectOf(row, session);
    if (TERMINAL_STATUSES.has(current.status)) {
      throw new DomainError(ErrorCode.Conflict, `Response ${row.id} has ended (${current.status})`);
    }
    await this.deliverToolOutputs(auth, row.sessionId, dto.tool_results);
    return this.objectOf(row, session);
  }

  /**
   * `POST /v1/responses/{id}/cancel`: interrupts the response when it is the running turn and
   * waits briefly for it to end (`incomplete`, reason `user_interrupt`). An ended response is
   * returned as it is; a queued one (behind another turn of its chain) is a 409.
   */
  async cancel(auth: AuthPrincipal, id: string): Promise<ResponseObjectDto> {
    const { row, session } = await this.load(auth, id, SessionLevel.Edit);
    const current = await this.objectOf(row, session);
    if (TERMINAL_STATUSES.has(current.status)) {
      return current;
    }
    if (session.currentTurnId !== row.id) {
      throw new DomainError(
        ErrorCode.Conflict,
        `Response ${row.id} is queued behind ${session.currentTurnId ?? 'another turn'} of its chain; ` +
          'it can be cancelled once it runs',
      );
    }
    const watch = watchTurns(this.bus.channel$(sessionChannel(row.sessionId)));
    try {
      await this.turns.post(auth, row.sessionId, { type: 'interrupt', data: {} });
      await watch.ended(row.id, CANCEL_WAIT_MS);
    } finally {
      watch.stop();
    }
    return this.objectOf(row, await this.access.require(auth, row.sessionId, SessionLevel.Read));
  }

  /**
   * `DELETE /v1/responses/{id}`: forgets the response (interrupting it first when it runs). Its
   * items stay in the chain's transcript; the chain's session goes with its last response.
   */
  async delete(auth: AuthPrincipal, id: string): Promise<ResponseDeletedDto> {
    const { row, session } = await this.load(auth, id, SessionLevel.Owner);
    if (session.currentTurnId === row.id) {
      await this.turns.post(auth, row.sessionId, { type: 'interrupt', data: {} });
    }
    const left = await this.responses.delete(row);
    if (left === 0) {
      await this.sessions.delete(auth, row.sessionId);
    }
    this.logger.log(`Response ${row.id} deleted by ${auth.userId}`);
    return { id: row.id, object: 'response', deleted: true };
  }

  /** The response's live events (it runs), or its terminal event (it ended), as SSE. */
  private async streamExisting(auth: AuthPrincipal, id: string): Promise<Response> {
    const { row } = await this.load(auth, id, SessionLevel.Read);
    const stream$ = await this.events.openStream(auth, row.sessionId, {});
    // Read after subscribing: an end published since is in the stream, an earlier one is here.
    const session = await this.access.require(auth, row.sessionId, SessionLevel.Read);
    const current = await this.objectOf(row, session);
    const event = (type: string) =>
      normalizeStreamEvent(
        { type: `response.${type}`, response: current } as RawStreamEvent,
        row.sessionId,
      );
    const max = this.config.sse.maxPendingDataLength;
    if (TERMINAL_STATUSES.has(current.status)) {
      stream$.subscribe().unsubscribe();
      return sseResponse(endedFrames(event(current.status)), max);
    }
    const frame = event(current.status === 'queued' ? 'queued' : 'in_progress');
    const prefix: MessageEvent = { type: frame.type, id: '0', data: JSON.stringify(frame) };
    return sseResponse(
      responseFrames(stream$ as Observable<MessageEvent>, row.id, {
        started: current.status === 'in_progress',
        prefix: [prefix],
      }),
      max,
    );
  }

  /** Starts the turn (a message) or resumes the waiting one (tool outputs); returns its id. */
  private async start(
    auth: AuthPrincipal,
    target: Target,
    dto: CreateResponseDto,
    input: ParsedInput,
  ): Promise<string> {
    if (input.kind === 'tool_outputs') {
      await this.deliverToolOutputs(auth, target.sessionId, input.outputs);
      return (target.previous as ResponseEntity).id;
    }
    const ack = await this.turns.post(auth, target.sessionId, {
      type: 'message',
      data: { role: 'user', content: input.content },
      tools: dto.tools ?? null,
      model_override: dto.model_override ?? null,
    } as SessionEventInputDto);
    if (ack.denied) {
      throw new DomainError(ErrorCode.Forbidden, `Denied by policy: ${ack.reason ?? ''}`);
    }
    const responseId = ack.item_id
      ? await this.responses.turnOfItem(target.sessionId, ack.item_id)
      : null;
    if (!responseId) {
      throw new DomainError(
        ErrorCode.Conflict,
        `The message waits for an approval (elicitation ${ack.elicitation_id ?? '?'}): resolve it ` +
          `through /v1/sessions/${target.sessionId}/elicitations, then follow the session`,
      );
    }
    await this.responses.insert({
      id: responseId,
      sessionId: target.sessionId,
      ownerId: auth.userId,
      model: target.model,
      previousResponseId: target.previous?.id ?? null,
      instructions: dto.instructions ?? null,
      metadata: dto.metadata ?? null,
      reasoning: stringValues(dto.reasoning),
      background: dto.background ?? false,
    });
    return responseId;
  }

  private async deliverToolOutputs(
    auth: AuthPrincipal,
    sessionId: string,
    outputs: { call_id: string; output: string }[],
  ): Promise<void> {
    for (const { call_id, output } of outputs) {
      await this.turns.post(auth, sessionId, {
        type: 'function_call_output',
        data: { call_id, output },
      });
    }
  }

  /**
   * The session a message runs in: a new one on the agent (bound to the caller's runner), the
   * chain of `previous_response_id` when that is its latest turn, else a fork of the chain up to
   * it, bound to the chain's runner (or the caller's).
   */
  private async chainFor(
    auth: AuthPrincipal,
    dto: CreateResponseDto,
    agent: AgentEntity,
  ): Promise<Target> {
    if (!dto.previous_response_id) {
      if (!(await this.runners.defaultFor(auth.userId))) {
        throw ResponseError.noRunner();
      }
      const effort = stringValues(dto.reasoning)?.effort;
      const session = await this.sessions.create(auth, {
        kind: 'json',
        dto: { agent_id: agent.id, ...(effort ? { reasoning_effort: effort } : {}) },
      });
      return { sessionId: (session as { id: string }).id, previous: null, model: agent.name };
    }
    const { row, session } = await this.load(auth, dto.previous_response_id, SessionLevel.Edit);
    if (session.agentId !== agent.id) {
      throw ResponseError.invalid(
        `previous_response_id ${row.id} belongs to a chain on agent '${row.model}'; model must name that agent`,
      );
    }
    if ((await this.responses.latestTurn(session.id)) === row.id) {
      return { sessionId: session.id, previous: row, model: agent.name };
    }
    const runnerId = (await this.runners.isOnline(session.runnerId))
      ? session.runnerId
      : await this.runners.defaultFor(auth.userId);
    if (!runnerId) {
      throw ResponseError.noRunner();
    }
    const fork = await this.forks.fork(auth, session.id, { up_to_response_id: row.id });
    await this.sessions.update(auth, fork.id, { runner_id: runnerId });
    this.logger.log(`Response chain ${session.id} forked at ${row.id} into ${fork.id}`);
    return { sessionId: fork.id, previous: row, model: agent.name };
  }

  /** Tool outputs continue the response that waits for them: `previous_response_id`. */
  private async waitingResponse(auth: AuthPrincipal, dto: CreateResponseDto): Promise<Target> {
    if (!dto.previous_response_id) {
      throw ResponseError.invalidInput(
        'function_call_output items continue a response: previous_response_id is required',
        ['previous_response_id'],
      );
    }
    const { row } = await this.load(auth, dto.previous_response_id, SessionLevel.Edit);
    return { sessionId: row.sessionId, previous: row, model: row.model };
  }

  /** `model`: a built-in agent's name, or an agent id the caller may use. */
  private async resolveAgent(auth: AuthPrincipal, model: string): Promise<AgentEntity> {
    const byName = await this.agents.getByName(model);
    if (byName) {
      return byName;
    }
    const id = normalizeId(IdPrefix.Agent, model);
    if (!id) {
      throw ResponseError.unknownModel(model);
    }
    try {
      return await this.agents.getUsable(id, async (sessionId) => {
        await this.access.require(auth, sessionId, SessionLevel.Read);
        return true;
      });
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.NotFound) {
        throw ResponseError.unknownModel(model);
      }
      throw error;
    }
  }

  /** The response and its session, when the caller has `level` on it; else 404 for the response. */
  private async load(
    auth: AuthPrincipal,
    rawId: string,
    level: SessionLevel,
  ): Promise<{ row: ResponseEntity; session: SessionEntity }> {
    const id = normalizeId(IdPrefix.Response, rawId);
    const row = id ? await this.responses.getById(id) : null;
    if (!row) {
      throw ResponseError.notFound(rawId);
    }
    try {
      return { row, session: await this.access.require(auth, row.sessionId, level) };
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.NotFound) {
        throw ResponseError.notFound(rawId);
      }
      throw error;
    }
  }

  private async objectOf(row: ResponseEntity, session: SessionEntity): Promise<ResponseObjectDto> {
    const turn = await this.responses.turn(row.sessionId, row.id);
    return toResponseObject(row, turn, session.currentTurnId);
  }
}

/** The string values of an object (`reasoning`), or null. */
function stringValues(
  value: Record<string, unknown> | null | undefined,
): Record<string, string> | null {
  if (!value) {
    return null;
  }
  const entries = Object.entries(value).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  return entries.length > 0 ? Object.fromEntries(entries) : null;
}
