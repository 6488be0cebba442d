import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { AgentSpecWire, BUILTIN_TOOL_NAMES } from 'src/protocol/agent-spec';
import { Methods, SessionEventParams, TurnStartParams } from 'src/protocol/runner-protocol';
import { SandboxSupport } from 'src/runner/sandbox/sandbox-probe';
import { SessionState } from 'src/runner/session-state';
import { Turn, TurnAborted } from 'src/runner/turn';
import { TurnServices } from 'src/runner/turn-tools';

// No sandbox here: auto falls back to running tools in this process, which keeps the spec fast;
// the sandbox has its own specs (src/runner/sandbox/).
const NO_SANDBOX: SandboxSupport = {
  available: false,
  bwrapPath: null,
  version: null,
  network: false,
  reason: 'not in this spec',
  layout: [],
};

function spec(overrides: Partial<AgentSpecWire> = {}): AgentSpecWire {
  return {
    name: 'echo',
    description: null,
    instructions: null,
    executor: { harness: 'echo' },
    os_env: { type: 'caller_process' },
    tools: BUILTIN_TOOL_NAMES.map((name) => ({ name, runtime: 'server' as const })),
    policies: [],
    terminals: {},
    params: {},
    max_iterations: 20,
    ...overrides,
  };
}

describe(Turn.name, () => {
  let root: string;
  let sent: SessionEventParams[];
  let requests: { method: string; params: unknown }[];
  let services: TurnServices;
  let authorize: () => Promise<unknown>;
  let turnCount = 0;

  beforeEach(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-turn-')));
    sent = [];
    requests = [];
    turnCount = 0;
    authorize = async () => ({ decision: 'allow' });
    services = {
      request: async <T>(method: string, params: unknown) => {
        requests.push({ method, params });
        return (await authorize()) as T;
      },
      tools: {
        workspaceRoot: root,
        env: {},
        support: NO_SANDBOX,
        required: false,
        protectedPaths: [],
      },
      children: {
        create: () => Promise.reject(new Error('no sub-agents in these tests')),
        open: () => {
          throw new Error('no sub-agents in these tests');
        },
        run: () => Promise.reject(new Error('no sub-agents in these tests')),
      },
      log: jest.fn(),
    };
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  function session(agent: AgentSpecWire = spec()): SessionState {
    return new SessionState(
      'conv_turnspec',
      {
        session_id: 'conv_turnspec',
        agent: { id: 'ag_1', name: agent.name, version: 1, spec: agent },
        snapshot: {
          workspace: null,
          labels: {},
          model_override: null,
          reasoning_effort: null,
          parent_session_id: null,
        },
        history: [],
        next_seq: 7,
        policy: { tool_call: true, tool_result: false },
      },
      (params) => sent.push(params),
    );
  }

  function turn(state: SessionState, text: string): Turn {
    turnCount++;
    const params: TurnStartParams = {
      session_id: state.id,
      turn_id: `resp_${turnCount}`,
      input: { item_id: `msg_${turnCount}`, role: 'user', content: [{ type: 'input_text', text }] },
      running_published: true,
    };
    return new Turn(services, state, params);
  }

  const durable = () => sent.filter((p) => p.durable);
  const types = () => durable().map((p) => p.event.type);
  const items = () =>
    durable().flatMap((p) => (p.event.type === 'response.output_item.done' ? [p.event.item] : []));
  /** The response of the last durable event (StreamEvent is a union: narrowed by its field). */
  const lastResponse = () => {
    const event = durable().at(-1)?.event;
    return event && 'response' in event ? event.response : undefined;
  };

  it('should stream a turn as the upstream event sequence with consecutive seqs', async () => {
    const state = session();

    await expect(turn(state, 'hello there, streaming world').run()).resolves.toBeUndefined();

    expect(types()).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(sent.map((p) => p.seq)).toEqual(sent.map((_, i) => 7 + i));
    expect(sent.every((p) => p.turn_id === 'resp_1' && p.session_id === 'conv_turnspec')).toBe(
      true,
    );
    const deltas = sent.filter((p) => p.event.type === 'response.output_text.delta');
    expect(deltas.length).toBeGreaterThanOrEqual(2);
    expect(deltas.every((p) => !p.durable)).toBe(true);
    expect(deltas.map((p) => ('delta' in p.event ? p.event.delta : '')).join('')).toBe(
      'hello there, streaming world',
    );
    expect(items()[0]).toMatchObject({
      id: expect.stringMatching(/^msg_[0-9a-f]{32}$/),
      role: 'assistant',
      response_id: 'resp_1',
    });
    const completed = lastResponse();
    expect(completed).toMatchObject({
      id: 'resp_1',
      status: 'completed',
      model: 'echo',
      conversation: { id: 'conv_turnspec' },
      usage: { total_tokens: expect.any(Number) },
    });
    expect(state.history.map((i) => i.role)).toEqual(['user', 'assistant']);
    // Durable events wait in the outbox until the server acknowledges them.
    expect([...state.outbox.keys()]).toEqual(durable().map((p) => p.seq));
    expect(state.busy).toBe(false);
  });

  it('should run a built-in tool after tool.authorize allowed it, in the session workspace', async () => {
    const state = session();

    await turn(state, '/tool write_file {"path":"a.txt","content":"hi"}').run();

    expect(items().map((i) => i.type)).toEqual([
      'function_call',
      'function_call_output',
      'message',
    ]);
    expect(items()[0]).toMatchObject({ id: expect.stringMatching(/^fc_/), name: 'write_file' });
    expect(items()[1]).toMatchObject({
      id: expect.stringMatching(/^fco_/),
      call_id: items()[0].call_id,
      output: 'Wrote 2 bytes to a.txt',
    });
    expect(requests).toEqual([
      {
        method: Methods.toolAuthorize,
        params: expect.objectContaining({ name: 'write_file', turn_id: 'resp_1' }),
      },
    ]);
    expect(fs.readFileSync(path.join(root, 'conv_turnspec', 'a.txt'), 'utf8')).toBe('hi');
  });

  it('should fail closed when the tool call cannot be authorised', async () => {
    authorize = async () => {
      throw new Error('channel down');
    };
    const state = session();

    await turn(state, '/tool write_file {"path":"a.txt","content":"hi"}').run();

    expect(items()[1].output).toBe(
      'Error: the tool call could not be authorised (channel down); it was not run',
    );
    expect(fs.existsSync(path.join(root, 'conv_turnspec', 'a.txt'))).toBe(false);
  });

  it('should close out an open tool call on interrupt and end as incomplete (user_interrupt)', async () => {
    const state = session();
    state.queue.push({} as TurnStartParams);
    const running = turn(state, '/tool shell {"command":"echo started; sleep 30"}').run();
    while (!sent.some((p) => p.event.type === 'response.function_call_output.delta')) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    state.current?.abort.abort(new TurnAborted('user_interrupt'));

    await expect(running).resolves.toBeUndefined();

    expect(types()).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.done',
      'response.output_item.done',
      'response.incomplete',
    ]);
    expect(items()[1]).toMatchObject({ call_id: items()[0].call_id, output: '[cancelled]' });
    expect(lastResponse()).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'user_interrupt' },
    });
    expect(state.queue).toEqual([]);
    expect(state.busy).toBe(false);
  });

  it('should end a stopped turn waiting for a client tool as incomplete (stop)', async () => {
    const state = session(
      spec({ tools: [{ name: 'lookup', runtime: 'client', parameters: { type: 'object' } }] }),
    );
    const running = turn(state, '/tool lookup {"q":"x"}').run();
    while (!state.current?.clientCalls.size) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(items()[0]).toMatchObject({ name: 'lookup', status: 'action_required' });
    state.current.abort.abort(new TurnAborted('stop'));

    await expect(running).resolves.toBeUndefined();

    expect(items()[1]).toMatchObject({ call_id: items()[0].call_id, output: '[cancelled]' });
    expect(lastResponse()).toMatchObject({
      incomplete_details: { reason: 'stop' },
    });
  });

  it('should fail the turn with the harness error as its detail', async () => {
    const state = session();

    const detail = await turn(state, '/fail the model is on fire').run();

    expect(detail).toEqual({ code: 'echo_failure', message: 'the model is on fire' });
    expect(types()).toEqual(['response.created', 'response.in_progress', 'response.failed']);
    expect(lastResponse()).toMatchObject({
      status: 'failed',
      error: { code: 'echo_failure', message: 'the model is on fire' },
      output: [],
    });
    expect(services.log).toHaveBeenCalledWith(
      'turn resp_1 of conv_turnspec failed: echo_failure: the model is on fire',
    );
  });

  it('should fail with harness_not_configured for a harness this runner lacks', async () => {
    const detail = await turn(session(spec({ executor: { harness: 'claude-sdk' } })), 'hi').run();

    expect(detail).toEqual({
      code: 'harness_not_configured',
      message: "This runner has no 'claude-sdk' harness",
    });
  });

  it('should stop at max_iterations with an incomplete response', async () => {
    const state = session(spec({ max_iterations: 1 }));

    await expect(turn(state, '/tool list_dir {}').run()).resolves.toBeUndefined();

    expect(types()).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.done',
      'response.output_item.done',
      'response.incomplete',
    ]);
    expect(lastResponse()).toMatchObject({
      incomplete_details: { reason: 'max_iterations' },
    });
  });
});
