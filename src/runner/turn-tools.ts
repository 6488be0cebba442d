import { FlatItem } from 'src/protocol/items';
import { AgentMcpToolWire, AgentSpecWire, AgentSubAgentToolWire } from 'src/protocol/agent-spec';
import {
  Methods,
  SessionHistoryResult,
  Timeouts,
  ToolAuthorizeResult,
  ToolReviewResult,
  TurnStartParams,
} from 'src/protocol/runner-protocol';
import { HarnessToolCall } from 'src/runner/harnesses/harness';
import { McpOffer, McpServers } from 'src/runner/mcp/mcp-servers';
import { placeTools, SessionTools, ToolSettings } from 'src/runner/sandbox/session-sandbox';
import { ApprovalVerdict, SessionState } from 'src/runner/session-state';
import { ChildSessions, runSubAgent, subAgentDefinition } from 'src/runner/subagent/sub-agent';
import { getBuiltinTool } from 'src/runner/tools/builtin-tools';
import { ToolDefinition } from 'src/runner/tools/tool';

// NUL cannot be stored (PostgreSQL text and jsonb refuse it): a file read past the binary sniff,
// or an MCP server, could still send one.
function cleanOutput(output: string): string {
  return output.replace(/\0/g, '\uFFFD');
}

/** How long a client-side tool call may wait for the client's `function_call_output`. */
export const CLIENT_TOOL_WAIT_MS = 30 * 60_000;

/** What a turn needs from the runner around it. */
export interface TurnServices {
  /** A request to the server over the runner channel (waits for the channel to be up). */
  request<T>(method: string, params: unknown, timeoutMs: number): Promise<T>;
  tools: ToolSettings;
  /** Sub-agent child sessions (src/runner/subagent/). */
  children: ChildSessions;
  log(message: string): void;
}

/**
 * Where a session's tools run: its own workspace, else its default one; a sub-agent's child
 * session without a workspace of its own works in its parent's default workspace.
 */
export function toolPlace(session: SessionState): SessionTools {
  const spec = session.init.agent.spec as Partial<AgentSpecWire>;
  return {
    sessionId: session.init.snapshot.parent_session_id ?? session.id,
    workspace: session.init.snapshot.workspace,
    sandbox: spec.os_env?.sandbox,
  };
}

/** Built-in tools of the spec plus client tools (the spec's and the turn's). */
export function toolsFor(
  spec: Partial<AgentSpecWire>,
  turn: TurnStartParams,
): { tools: ToolDefinition[]; client: Set<string> } {
  const tools: ToolDefinition[] = [];
  const client = new Set<string>();
  for (const entry of spec.tools ?? []) {
    if (entry.runtime === 'client') {
      client.add(entry.name);
      tools.push({
        name: entry.name,
        description: entry.description ?? '',
        parameters: entry.parameters ?? { type: 'object', properties: {} },
      });
    } else if (entry.runtime === 'agent') {
      tools.push(subAgentDefinition(entry));
    } else if (entry.runtime === 'unavailable') {
      // Offered so that a call answers tool_unavailable instead of the model guessing.
      tools.push({
        name: entry.name,
        description: entry.description ?? '',
        parameters: entry.parameters ?? { type: 'object', properties: {} },
      });
    } else if (entry.runtime === 'server') {
      const builtin = getBuiltinTool(entry.name);
      if (builtin) {
        tools.push({
          name: builtin.name,
          description: builtin.description,
          parameters: builtin.parameters,
        });
      }
    }
  }
  for (const extra of turn.client_tools ?? []) {
    if (!tools.some((t) => t.name === extra.name)) {
      client.add(extra.name);
      tools.push({
        name: extra.name,
        description: extra.description ?? '',
        parameters: extra.parameters ?? { type: 'object', properties: {} },
      });
    }
  }
  return { tools, client };
}

/** The tool calls of one turn: built-ins (authorised first), client tools, and history paging. */
export class TurnTools {
  /** Set when the human declined an approval: the turn ends after this tool call. */
  declined = false;

  constructor(
    private readonly services: TurnServices,
    private readonly session: SessionState,
    private readonly turnId: string,
    private readonly signal: AbortSignal,
  ) {}

  /**
   * A built-in tool call, authorised by the server first (fails closed) while the session has a
   * tool_call policy; `policy.tool_call` is read per call, so a flag pushed mid-turn applies.
   */
  async runBuiltin(call: HarnessToolCall): Promise<string> {
    const { session, signal } = this;
    const tool = getBuiltinTool(call.name);
    const spec = session.init.agent.spec as Partial<AgentSpecWire>;
    const declared = (spec.tools ?? []).find((t) => t.name === call.name);
    if (declared?.runtime === 'unavailable') {
      return `Error: tool_unavailable: the tool '${call.name}' cannot run here: ${declared.reason}`;
    }
    if (!tool || declared?.runtime !== 'server') {
      return `Error: the tool '${call.name}' is not available to this agent`;
    }
    const authorized = await this.authorizedArgs(call);
    if ('output' in authorized) {
      return authorized.output;
    }
    const place = placeTools(this.services.tools, toolPlace(session));
    if ('error' in place) {
      return `Error: ${place.error}; the tool was not run`;
    }
    try {
      const output = await tool.execute(authorized.args, {
        workspace: place.workspace,
        sandbox: place.sandbox,
        signal,
        onOutputDelta: (delta) =>
          session.emit(
            { type: 'response.function_call_output.delta', call_id: call.callId, delta },
            false,
            this.turnId,
          ),
      });
      return await this.review(call, cleanOutput(output));
    } catch (error) {
      if (signal.aborted) {
        throw error;
      }
      return `Error: ${call.name} failed: ${(error as Error).message}`;
    }
  }

  /** The session's MCP servers (started on first use, stopped when the session is released). */
  mcpServers(): McpServers {
    const { session } = this;
    if (!session.mcp) {
      session.mcp = new McpServers({
        place: () => placeTools(this.services.tools, toolPlace(session)),
        env: this.services.tools.env,
        log: this.services.log,
      });
    }
    return session.mcp;
  }

  /** The tools of the spec's MCP servers, by offered name (none when the spec has no server). */
  async mcpOffers(taken: Set<string>): Promise<Map<string, McpOffer>> {
    const spec = this.session.init.agent.spec as Partial<AgentSpecWire>;
    const servers = (spec.tools ?? []).filter((t): t is AgentMcpToolWire => t.runtime === 'mcp');
    return servers.length === 0 ? new Map() : this.mcpServers().offers(servers, taken);
  }

  /** An MCP tool call, authorised like a built-in. */
  async runMcp(call: HarnessToolCall, offer: McpOffer): Promise<string> {
    const authorized = await this.authorizedArgs(call);
    if ('output' in authorized) {
      return authorized.output;
    }
    if (this.signal.aborted) {
      throw this.signal.reason;
    }
    const output = await this.mcpServers().call(offer, authorized.args, this.signal);
    return this.review(call, cleanOutput(output));
  }

  /** A sub-agent (`type: agent`) call, authorised like a built-in; its answer is the output. */
  async runSubAgent(call: HarnessToolCall, tool: AgentSubAgentToolWire): Promise<string> {
    const authorized = await this.authorizedArgs(call);
    if ('output' in authorized) {
      return authorized.output;
    }
    const output = await runSubAgent(
      this.session,
      tool,
      { callId: call.callId, turnId: this.turnId, args: authorized.args, signal: this.signal },
      this.services.children,
    );
    return this.review(call, cleanOutput(output));
  }

  /**
   * The call's arguments after `tool.authorize` (when the session has tool-call policies), or
   * the output to answer instead (invalid JSON, a denial, a declined approval).
   */
  private async authorizedArgs(
    call: HarnessToolCall,
  ): Promise<{ args: Record<string, unknown> } | { output: string }> {
    const { session, signal } = this;
    let args: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(call.arguments || '{}');
      args =
        parsed && typeof parsed === 'object' && !Array.isArray(parsed)
          ? (parsed as Record<string, unknown>)
          : {};
    } catch {
      return { output: `Error: the arguments of ${call.name} are not valid JSON` };
    }
    if (session.init.policy.tool_call) {
      let verdict: ToolAuthorizeResult;
      try {
        verdict = await this.services.request<ToolAuthorizeResult>(
          Methods.toolAuthorize,
          {
            session_id: session.id,
            turn_id: this.turnId,
            call_id: call.callId,
            name: call.name,
            arguments: args,
          },
          Timeouts.toolAuthorizeMs,
        );
      } catch (error) {
        return {
          output: `Error: the tool call could not be authorised (${(error as Error).message}); it was not run`,
        };
      }
      if (verdict.decision === 'deny') {
        return { output: verdict.output ?? `[Denied by policy: ${verdict.reason}]` };
      }
      if (verdict.decision === 'ask') {
        const approval = await this.awaitApproval(verdict.elicitation_id, verdict.expires_at);
        if (approval.action === 'decline') {
          this.declined = true;
          return { output: `[Denied by user: the ${call.name} call was declined; it was not run]` };
        }
        if (approval.action !== 'accept') {
          return {
            output: `[Denied by policy: approval not granted; the ${call.name} call was not run]`,
          };
        }
      } else {
        args = verdict.arguments ?? args;
      }
    }
    if (signal.aborted) {
      throw signal.reason;
    }
    return { args };
  }

  /**
   * Waits for the human's decision on an approval (`elicitation.resolve`). The server owns the
   * timeout; this side gives up only well after `expires_at`, or when the turn is aborted.
   */
  private awaitApproval(elicitationId: string, expiresAt: number): Promise<ApprovalVerdict> {
    const { session, signal } = this;
    const early = session.earlyVerdicts.get(elicitationId);
    if (early) {
      session.earlyVerdicts.delete(elicitationId);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const waitMs = Math.max(0, expiresAt * 1000 - Date.now()) + Timeouts.elicitationGraceMs;
      const timer = setTimeout(() => finish({ action: 'cancel' }), Math.min(waitMs, 2 ** 31 - 1));
      const onAbort = () => {
        clearTimeout(timer);
        session.parked.delete(elicitationId);
        reject(signal.reason);
      };
      const finish = (verdict: ApprovalVerdict) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        session.parked.delete(elicitationId);
        resolve(verdict);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      session.parked.set(elicitationId, finish);
    });
  }

  /** tool.review when the session has tool_result policies; fails open, as upstream. */
  private async review(call: HarnessToolCall, output: string): Promise<string> {
    if (!this.session.init.policy.tool_result) {
      return output;
    }
    try {
      const verdict = await this.services.request<ToolReviewResult>(
        Methods.toolReview,
        {
          session_id: this.session.id,
          turn_id: this.turnId,
          call_id: call.callId,
          name: call.name,
          output,
        },
        Timeouts.toolReviewMs,
      );
      return verdict.output ?? output;
    } catch (error) {
      this.services.log(`tool.review of ${call.callId} failed: ${(error as Error).message}`);
      return output;
    }
  }

  /** A client-side tool: the client runs it and posts `function_call_output`. */
  awaitClientTool(call: HarnessToolCall): Promise<string> {
    const { session, signal } = this;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(`Error: no result from the client for ${call.name} in time`),
        CLIENT_TOOL_WAIT_MS,
      );
      const onAbort = () => {
        clearTimeout(timer);
        session.current?.clientCalls.delete(call.callId);
        reject(signal.reason);
      };
      const finish = (output: string) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        session.current?.clientCalls.delete(call.callId);
        resolve(output);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      session.current?.clientCalls.set(call.callId, { resolve: finish });
    });
  }

  /** Fetches the rest of a long history before the first turn needs it. */
  async ensureHistory(): Promise<void> {
    const session = this.session;
    if (session.historyComplete) {
      return;
    }
    const items: FlatItem[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.services.request<SessionHistoryResult>(
        Methods.sessionHistory,
        { session_id: session.id, after, limit: 1000 },
        Timeouts.sessionInitMs,
      );
      items.push(...page.items);
      if (!page.has_more || page.items.length === 0) {
        break;
      }
      after = page.items[page.items.length - 1].id;
    }
    const known = new Set(items.map((i) => i.id));
    session.history = [...items, ...session.history.filter((i) => !known.has(i.id))];
    session.historyComplete = true;
  }
}
