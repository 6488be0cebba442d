import { FlatItem } from 'src/protocol/items';
import { RpcError } from 'src/protocol/json-rpc';
import {
  RUNNER_RPC_ERROR,
  RunnerErrorCode,
  SessionCreateChildParams,
  SessionCreateChildResult,
  SessionEventParams,
  SessionInitParams,
  TurnStartParams,
} from 'src/protocol/runner-protocol';
import { ErrorDetail } from 'src/protocol/stream-events';
import { SessionState } from 'src/runner/session-state';
import { ChildSessions, finalAnswer, runSubAgent, taskOf } from 'src/runner/subagent/sub-agent';
import { subAgentToolFactory } from 'test/factories';

const TOOL = subAgentToolFactory();

function message(id: string, role: string, text: string): FlatItem {
  return {
    id,
    type: 'message',
    role,
    content: [{ type: role === 'user' ? 'input_text' : 'output_text', text }],
  } as unknown as FlatItem;
}

function init(sessionId: string, parentId: string | null, history: FlatItem[]): SessionInitParams {
  return {
    session_id: sessionId,
    agent: { id: 'ag_1', name: 'agent', version: 1, spec: { name: 'agent' } },
    snapshot: {
      workspace: null,
      labels: {},
      model_override: null,
      reasoning_effort: null,
      parent_session_id: parentId,
    },
    history,
    next_seq: 1,
    policy: { tool_call: false, tool_result: false },
  };
}

const CREATED: SessionCreateChildResult = {
  session_id: 'conv_child',
  turn_id: 'resp_child',
  item_id: 'msg_task',
  init: init('conv_child', 'conv_parent', [message('msg_task', 'user', 'the task')]),
};

/**
 * The runner's side of child sessions, faked: the server's answer to `session.create_child`,
 * and a child turn that streams `answer` (or fails) on the child's own transport.
 */
class FakeChildren implements ChildSessions {
  readonly asked: SessionCreateChildParams[] = [];
  readonly turns: TurnStartParams[] = [];
  /** Events of the child session, as its transport got them. */
  readonly childEvents: SessionEventParams[] = [];
  refusal?: Error;
  failure?: ErrorDetail;
  /** The child's turn ends as response.incomplete with this reason. */
  stopped?: string;
  /** Called while the child's turn runs (it is `child.current` then). */
  during?: () => void;
  /** Whether the child's turn was interrupted. */
  interrupted = false;

  constructor(private readonly answer: string) {}

  async create(params: SessionCreateChildParams): Promise<SessionCreateChildResult> {
    this.asked.push(params);
    if (this.refusal) {
      throw this.refusal;
    }
    return CREATED;
  }

  open(childInit: SessionInitParams, observe: (params: SessionEventParams) => void): SessionState {
    return new SessionState(childInit.session_id, childInit, (params) => {
      this.childEvents.push(params);
      observe(params);
    });
  }

  async run(child: SessionState, turn: TurnStartParams): Promise<ErrorDetail | undefined> {
    this.turns.push(turn);
    const abort = new AbortController();
    child.current = { turnId: turn.turn_id, abort, clientCalls: new Map() };
    this.during?.();
    // A real turn goes on asynchronously: an abort now still reaches it.
    await Promise.resolve();
    child.current = undefined;
    this.interrupted = abort.signal.aborted;
    if (this.interrupted) {
      return undefined;
    }
    child.emit({ type: 'response.output_text.delta', delta: this.answer }, false, turn.turn_id);
    child.history.push(message('msg_answer', 'assistant', this.answer));
    if (this.stopped) {
      const response = { id: turn.turn_id, incomplete_details: { reason: this.stopped } };
      child.emit({ type: 'response.incomplete', response } as never, true, turn.turn_id);
    }
    return this.failure;
  }
}

describe(runSubAgent.name, () => {
  let parentSent: SessionEventParams[];
  let parent: SessionState;
  const call = (signal = new AbortController().signal) => ({
    callId: 'call_1',
    turnId: 'resp_parent',
    args: { input: 'the task' },
    signal,
  });

  beforeEach(() => {
    parentSent = [];
    parent = new SessionState('conv_parent', init('conv_parent', null, []), (params) =>
      parentSent.push(params),
    );
  });

  it('should run the child session the server created and return its answer', async () => {
    const children = new FakeChildren('done');

    expect(await runSubAgent(parent, TOOL, call(), children)).toBe('done');
    expect(children.asked).toEqual([
      {
        parent_session_id: 'conv_parent',
        turn_id: 'resp_parent',
        call_id: 'call_1',
        tool: 'helper',
        input: 'the task',
      },
    ]);
    // The turn the server recorded, under the child's id, announced as running already.
    expect(children.turns).toEqual([
      {
        session_id: 'conv_child',
        turn_id: 'resp_child',
        input: {
          item_id: 'msg_task',
          role: 'user',
          content: [{ type: 'input_text', text: 'the task' }],
        },
        running_published: true,
      },
    ]);
    // The child's events are the child's; its text also shows as the call's progress.
    expect(children.childEvents.map((p) => [p.session_id, p.event.type])).toEqual([
      ['conv_child', 'response.output_text.delta'],
    ]);
    expect(parentSent.map((p) => [p.session_id, p.turn_id, p.event])).toEqual([
      [
        'conv_parent',
        'resp_parent',
        { type: 'response.function_call_output.delta', call_id: 'call_1', delta: 'done' },
      ],
    ]);
  });

  it("should answer the server's refusal (max_sessions) as the tool output", async () => {
    const children = new FakeChildren('x');
    children.refusal = new RpcError(
      RUNNER_RPC_ERROR[RunnerErrorCode.MaxSessionsReached],
      'The sub-agent helper may create at most 1 session(s) per parent session',
      { code: RunnerErrorCode.MaxSessionsReached },
    );

    expect(await runSubAgent(parent, TOOL, call(), children)).toBe(
      'Error: the sub-agent helper was not started: max_sessions_reached: ' +
        'The sub-agent helper may create at most 1 session(s) per parent session',
    );
    expect(children.turns).toEqual([]);
  });

  it('should report a failed child turn as the tool output', async () => {
    const children = new FakeChildren('x');
    children.failure = {
      code: 'harness_not_configured',
      message: "This runner has no 'codex' harness",
    };

    expect(await runSubAgent(parent, TOOL, call(), children)).toBe(
      "Error: the sub-agent helper failed: harness_not_configured: This runner has no 'codex' harness",
    );
  });

  it("should say when the child's turn stopped short, with its last message", async () => {
    const children = new FakeChildren('half done');
    children.stopped = 'elicitation_declined';

    expect(await runSubAgent(parent, TOOL, call(), children)).toBe(
      'Error: the sub-agent helper stopped before finishing (elicitation_declined); ' +
        'its last message: half done',
    );
  });

  it('should interrupt the child when the parent call is aborted', async () => {
    const abort = new AbortController();
    const children = new FakeChildren('x');
    children.during = () => abort.abort(new Error('interrupted'));

    await expect(runSubAgent(parent, TOOL, call(abort.signal), children)).rejects.toThrow(
      'interrupted',
    );
    expect(children.interrupted).toBe(true);
  });

  it('should still run, and at once interrupt, a child created after the parent was aborted', async () => {
    const abort = new AbortController();
    const children = new FakeChildren('x');
    const create = children.create.bind(children);
    children.create = async (params) => {
      abort.abort(new Error('interrupted'));
      return create(params);
    };

    await expect(runSubAgent(parent, TOOL, call(abort.signal), children)).rejects.toThrow(
      'interrupted',
    );
    // The server recorded its turn as running: it runs, and ends (as interrupted) on the runner.
    expect(children.turns).toHaveLength(1);
    expect(children.interrupted).toBe(true);
  });
});

describe('sub-agent helpers', () => {
  it('should take the task from input or its synonyms, else the arguments as JSON', () => {
    expect(taskOf({ input: 'a' })).toBe('a');
    expect(taskOf({ prompt: 'b' })).toBe('b');
    expect(taskOf({ city: 'Oslo' })).toBe('{"city":"Oslo"}');
  });

  it('should answer with the last assistant message', () => {
    expect(
      finalAnswer([
        message('msg_1', 'assistant', 'first'),
        message('msg_2', 'user', 'again'),
        message('msg_3', 'assistant', 'last'),
      ]),
    ).toBe('last');
    expect(finalAnswer([message('msg_1', 'user', 'only a question')])).toBe('');
  });
});
