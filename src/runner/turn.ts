import { IdPrefix, newId } from 'src/common/ids/ids';
import { AgentSpecWire } from 'src/protocol/agent-spec';
import { FlatItem } from 'src/protocol/items';
import { nowSeconds, TurnStartParams } from 'src/protocol/runner-protocol';
import { ErrorDetail, StreamEvent } from 'src/protocol/stream-events';
import { resolveAttachments } from 'src/runner/attachments';
import { createHarness } from 'src/runner/harnesses/harnesses';
import { HarnessError } from 'src/runner/harnesses/harness';
import { SessionState } from 'src/runner/session-state';
import { toolsFor, TurnServices, TurnTools } from 'src/runner/turn-tools';

/** Why the runner stopped a turn: `stop` (stop_session) or anything else (an interrupt). */
export class TurnAborted extends Error {}

/** The default `max_iterations` (agent-spec.md). */
export const DEFAULT_MAX_ITERATIONS = 20;

function toolOutput(turnId: string, callId: string, output: string): FlatItem {
  return {
    id: newId(IdPrefix.FunctionCallOutput),
    response_id: turnId,
    type: 'function_call_output',
    status: 'completed',
    created_at: nowSeconds(),
    call_id: callId,
    output,
  };
}

/**
 * One turn (spec/runner-protocol.md §12.3): the model ↔ tool loop of the session's harness, up
 * to `max_iterations` steps, streamed as `response.*` events. `run()` resolves with the error
 * detail when the turn failed; an interrupt ends it as `response.incomplete` (its open tool calls
 * get a `[cancelled]` output so the history stays valid) and resolves with undefined.
 */
export class Turn {
  private readonly turnId: string;
  private readonly spec: Partial<AgentSpecWire>;
  private readonly createdAt = nowSeconds();
  private readonly abort = new AbortController();
  private readonly output: FlatItem[] = [];
  /** Tool calls emitted without an output yet, by call id. */
  private readonly openCalls = new Set<string>();
  private readonly usage = { input_tokens: 0, output_tokens: 0 };
  /** Fixed when the turn starts: a later session.update does not rename a running response. */
  private model = '';

  constructor(
    private readonly services: TurnServices,
    private readonly session: SessionState,
    private readonly params: TurnStartParams,
  ) {
    this.turnId = params.turn_id;
    this.spec = session.init.agent.spec as Partial<AgentSpecWire>;
  }

  async run(): Promise<ErrorDetail | undefined> {
    const { session, turnId, abort } = this;
    this.model = this.modelName();
    session.current = { turnId, abort, clientCalls: new Map() };
    this.recordInput();
    this.emit({ type: 'response.created', response: this.response('in_progress') });
    this.emit({ type: 'response.in_progress', response: this.response('in_progress') });
    try {
      return await this.loop();
    } catch (error) {
      if (abort.signal.aborted && !(abort.signal.reason instanceof HarnessError)) {
        this.interrupted();
        return undefined;
      }
      return this.failed(abort.signal.reason instanceof HarnessError ? abort.signal.reason : error);
    } finally {
      session.current = undefined;
      session.earlyVerdicts.clear();
    }
  }

  private async loop(): Promise<undefined> {
    const { session, spec, turnId, abort } = this;
    const tools = new TurnTools(this.services, session, turnId, abort.signal);
    await tools.ensureHistory();
    await resolveAttachments(this.services, session.id, session.history);
    const harness = createHarness(spec.executor?.harness ?? 'echo');
    if (!harness) {
      throw new HarnessError(
        'harness_not_configured',
        `This runner has no '${spec.executor?.harness}' harness`,
      );
    }
    const { tools: definitions, client } = toolsFor(spec, this.params);
    const subAgents = new Map(
      (spec.tools ?? []).flatMap((t) => (t.runtime === 'agent' ? [[t.name, t] as const] : [])),
    );
    const mcp = await tools.mcpOffers(new Set(definitions.map((d) => d.name)));
    definitions.push(...[...mcp.values()].map((offer) => offer.definition));
    const maxIterations = spec.max_iterations ?? DEFAULT_MAX_ITERATIONS;
    for (let step = 0; ; step++) {
      if (step >= maxIterations) {
        this.emit({
          type: 'response.incomplete',
          response: this.response('incomplete', {
            output: this.output,
            usage: this.usage,
            incomplete_details: { reason: 'max_iterations' },
            completed_at: nowSeconds(),
          }),
        });
        return undefined;
      }
      const result = await harness.step({
        agent: {
          name: spec.name ?? session.init.agent.name,
          instructions: spec.instructions ?? null,
          executor: spec.executor ?? { harness: 'echo' },
          params: spec.params,
        },
        model: this.params.overrides?.model ?? session.init.snapshot.model_override ?? null,
        history: session.history,
        tools: definitions,
        signal: abort.signal,
        env: this.services.tools.env,
        onTextDelta: (delta) =>
          session.emit({ type: 'response.output_text.delta', delta }, false, turnId),
        onRetry: (retry) =>
          this.emit({
            type: 'response.retry',
            source: 'llm',
            attempt: retry.attempt,
            max_attempts: retry.maxAttempts,
            delay_seconds: retry.delaySeconds,
            error: retry.error,
          }),
      });
      this.usage.input_tokens += result.usage?.input_tokens ?? 0;
      this.usage.output_tokens += result.usage?.output_tokens ?? 0;
      if (result.text) {
        this.done({
          id: newId(IdPrefix.Message),
          response_id: turnId,
          type: 'message',
          status: 'completed',
          created_at: nowSeconds(),
          role: 'assistant',
          content: [{ type: 'output_text', text: result.text, annotations: [] }],
          model: result.model,
        });
      }
      if (result.toolCalls.length === 0) {
        break;
      }
      for (const call of result.toolCalls) {
        const isClient = client.has(call.name);
        this.done({
          id: newId(IdPrefix.FunctionCall),
          response_id: turnId,
          type: 'function_call',
          status: isClient ? 'action_required' : 'completed',
          created_at: nowSeconds(),
          name: call.name,
          arguments: call.arguments,
          call_id: call.callId,
          model: result.model,
        });
        this.openCalls.add(call.callId);
        const offer = mcp.get(call.name);
        const subAgent = subAgents.get(call.name);
        const callOutput = isClient
          ? await tools.awaitClientTool(call)
          : offer
            ? await tools.runMcp(call, offer)
            : subAgent
              ? await tools.runSubAgent(call, subAgent)
              : await tools.runBuiltin(call);
        this.openCalls.delete(call.callId);
        this.done(toolOutput(turnId, call.callId, callOutput));
        if (tools.declined) {
          // A declined approval ends the turn (runner-protocol F5); the model sees why next turn.
          this.emit({
            type: 'response.incomplete',
            response: this.response('incomplete', {
              output: this.output,
              usage: this.usage,
              incomplete_details: { reason: 'elicitation_declined' },
              completed_at: nowSeconds(),
            }),
          });
          return undefined;
        }
      }
    }
    const { input_tokens, output_tokens } = this.usage;
    this.emit({
      type: 'response.completed',
      response: this.response('completed', {
        output: this.output,
        completed_at: nowSeconds(),
        usage: { ...this.usage, total_tokens: input_tokens + output_tokens },
      }),
    });
    return undefined;
  }

  /** The turn's user message joins the history (once, even when the turn is re-run). */
  private recordInput(): void {
    const { session, params } = this;
    if (!session.history.some((item) => item.id === params.input.item_id)) {
      session.history.push({
        id: params.input.item_id,
        response_id: this.turnId,
        type: 'message',
        status: 'completed',
        created_at: this.createdAt,
        role: 'user',
        content: params.input.content,
      });
    }
  }

  private interrupted(): void {
    for (const callId of this.openCalls) {
      this.done(toolOutput(this.turnId, callId, '[cancelled]'));
    }
    const reason = this.abort.signal.reason;
    this.emit({
      type: 'response.incomplete',
      response: this.response('incomplete', {
        output: this.output,
        completed_at: nowSeconds(),
        incomplete_details: {
          reason:
            reason instanceof TurnAborted && reason.message === 'stop' ? 'stop' : 'user_interrupt',
        },
      }),
    });
    // Interrupt stops everything queued behind this turn too.
    this.session.queue.splice(0);
  }

  private failed(cause: unknown): ErrorDetail {
    const detail: ErrorDetail =
      cause instanceof HarnessError
        ? { code: cause.code, message: cause.message }
        : { code: 'runner_error', message: (cause as Error)?.message ?? String(cause) };
    this.services.log(
      `turn ${this.turnId} of ${this.session.id} failed: ${detail.code}: ${detail.message}`,
    );
    this.emit({
      type: 'response.failed',
      response: this.response('failed', {
        output: this.output,
        completed_at: nowSeconds(),
        error: detail,
      }),
    });
    return detail;
  }

  /** A finished output item: kept in the history and the response, and emitted. */
  private done(item: FlatItem): void {
    this.session.history.push(item);
    this.output.push(item);
    this.emit({ type: 'response.output_item.done', item });
  }

  private emit(event: StreamEvent): void {
    this.session.emit(event, true, this.turnId);
  }

  private response(status: string, extra: Record<string, unknown> = {}) {
    return {
      id: this.turnId,
      object: 'response',
      status,
      model: this.model,
      created_at: this.createdAt,
      conversation: { id: this.session.id },
      ...extra,
    };
  }

  private modelName(): string {
    const { params, session, spec } = this;
    return (
      params.overrides?.model ??
      session.init.snapshot.model_override ??
      spec.executor?.model ??
      spec.executor?.harness ??
      'echo'
    );
  }
}
