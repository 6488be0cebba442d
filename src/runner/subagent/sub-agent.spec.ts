import { AgentSubAgentToolWire } from 'src/protocol/agent-spec';
import { FlatItem } from 'src/protocol/items';
import { SessionEventParams, SessionInitParams } from 'src/protocol/runner-protocol';
import { SessionState } from 'src/runner/session-state';
import { RunChildTurn, runSubAgent } from 'src/runner/subagent/sub-agent';

const TOOL: AgentSubAgentToolWire = {
  name: 'helper',
  runtime: 'agent',
  instructions: 'Help.',
  executor: { harness: 'echo' },
  os_env: null,
  pass_history: false,
  max_sessions: null,
};

function message(id: string, role: string, text: string): FlatItem {
  return {
    id,
    type: 'message',
    role,
    content: [{ type: role === 'user' ? 'input_text' : 'output_text', text }],
  } as unknown as FlatItem;
}

const CALL = { id: 'fc_1', type: 'function_call', name: 'helper' } as unknown as FlatItem;

function parentState(sent: SessionEventParams[]): SessionState {
  const init: SessionInitParams = {
    session_id: 'conv_parent',
    agent: {
      id: 'ag_1',
      name: 'parent',
      version: 1,
      spec: { name: 'parent', os_env: { type: 'caller_process' }, max_iterations: 7 },
    },
    snapshot: {
      workspace: null,
      labels: {},
      model_override: null,
      reasoning_effort: null,
      parent_session_id: null,
    },
    history: [message('msg_1', 'user', 'earlier question'), CALL],
    next_seq: 5,
    policy: { tool_call: true, tool_result: false },
  };
  return new SessionState('conv_parent', init, (params) => sent.push(params));
}

describe(runSubAgent.name, () => {
  const call = (signal = new AbortController().signal) => ({
    callId: 'call_1',
    turnId: 'resp_parent',
    args: { input: 'the task' },
    signal,
  });

  /** A child turn that answers `answer` and records what it was given. */
  function fakeTurn(
    answer: string,
    seen: { child?: SessionState },
  ): jest.MockedFunction<RunChildTurn> {
    return jest.fn<ReturnType<RunChildTurn>, Parameters<RunChildTurn>>(async (child) => {
      seen.child = child;
      child.emit({ type: 'response.output_text.delta', delta: answer }, false, 'resp_child');
      child.emit({ type: 'response.created', response: {} } as never, true, 'resp_child');
      child.history.push(message('msg_c', 'assistant', answer));
      return undefined;
    });
  }

  it('should run the child in the parent session with the sub-agent spec and return its answer', async () => {
    const sent: SessionEventParams[] = [];
    const parent = parentState(sent);
    const seen: { child?: SessionState } = {};
    const runTurn = fakeTurn('done', seen);

    expect(await runSubAgent(parent, TOOL, call(), runTurn)).toBe('done');
    const [, params] = runTurn.mock.calls[0];
    expect(params).toMatchObject({
      session_id: 'conv_parent',
      input: { role: 'user', content: [{ type: 'input_text', text: 'the task' }] },
    });
    expect(seen.child?.id).toBe('conv_parent');
    expect(seen.child?.init.agent.spec).toMatchObject({
      name: 'parent.helper',
      instructions: 'Help.',
      executor: { harness: 'echo' },
      os_env: null,
      tools: [],
      max_iterations: 7,
    });
    // Without pass_history the child starts from nothing; its events never reach the server.
    expect(seen.child?.history.map((i) => i.id)).toEqual(['msg_c']);
    expect(seen.child?.outbox.size).toBe(0);
    expect(seen.child?.attached).toBe(false);
    expect(sent.map((p) => p.event)).toEqual([
      { type: 'response.function_call_output.delta', call_id: 'call_1', delta: 'done' },
    ]);
  });

  it("should pass the parent's messages (not its tool calls) with pass_history", async () => {
    const seen: { child?: SessionState } = {};
    const parent = parentState([]);

    await runSubAgent(parent, { ...TOOL, pass_history: true }, call(), fakeTurn('x', seen));
    expect(seen.child?.history.map((i) => i.id)).toEqual(['msg_1', 'msg_c']);
  });

  it("should inherit the parent's os_env and give the child the built-in tools", async () => {
    const seen: { child?: SessionState } = {};

    await runSubAgent(parentState([]), { ...TOOL, os_env: 'inherit' }, call(), fakeTurn('x', seen));
    expect(seen.child?.init.agent.spec).toMatchObject({
      os_env: { type: 'caller_process' },
      tools: expect.arrayContaining([{ name: 'shell', runtime: 'server' }]),
    });
  });

  it('should refuse a run past max_sessions, counted from the history', async () => {
    const parent = parentState([]);
    const runTurn = fakeTurn('x', {});

    expect(await runSubAgent(parent, { ...TOOL, max_sessions: 1 }, call(), runTurn)).toBe('x');
    parent.history.push(CALL);
    expect(await runSubAgent(parent, { ...TOOL, max_sessions: 1 }, call(), runTurn)).toMatch(
      /may run at most 1 time/,
    );
    expect(runTurn).toHaveBeenCalledTimes(1);
  });

  it('should report a failed child turn as the tool output', async () => {
    const runTurn: RunChildTurn = jest.fn(async () => ({
      code: 'harness_not_configured',
      message: "This runner has no 'codex' harness",
    }));

    expect(await runSubAgent(parentState([]), TOOL, call(), runTurn)).toBe(
      "Error: the sub-agent helper failed: harness_not_configured: This runner has no 'codex' harness",
    );
  });

  it('should abort the child when the parent call is aborted', async () => {
    const abort = new AbortController();
    let childSignal: AbortSignal | undefined;
    const runTurn: RunChildTurn = jest.fn(async (child) => {
      const controller = new AbortController();
      child.current = { turnId: 'resp_child', abort: controller, clientCalls: new Map() };
      childSignal = controller.signal;
      abort.abort(new Error('interrupted'));
      return undefined;
    });

    await expect(runSubAgent(parentState([]), TOOL, call(abort.signal), runTurn)).rejects.toThrow(
      'interrupted',
    );
    expect(childSignal?.aborted).toBe(true);
  });
});
