import { AgentSpecWire } from 'src/protocol/agent-spec';
import { SessionCreateChildParams, SessionInitParams } from 'src/protocol/runner-protocol';
import { AgentsService } from 'src/modules/registry/agents.service';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { ChildSessionsService } from 'src/modules/sessions/child-sessions.service';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { LockedSession } from 'src/modules/sessions/locked-session';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import {
  agentFactory,
  itemFactory,
  lockedSessionFactory,
  LockedSessionFake,
  messageData,
  sessionEntityFactory,
  subAgentToolFactory,
} from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

const HELPER = subAgentToolFactory({ pass_history: true, max_sessions: 2 });

const SPEC: Partial<AgentSpecWire> = {
  name: 'parent',
  tools: [{ name: 'shell', runtime: 'server' }, HELPER],
  policies: [],
};

describe(ChildSessionsService.name, () => {
  let t: TestService<ChildSessionsService>;
  let parent: SessionEntity;
  let parentUnit: LockedSessionFake;
  const connection = { runnerId: 'runner_1', ownerId: 'alice' } as RunnerConnection;
  const params: SessionCreateChildParams = {
    parent_session_id: '',
    turn_id: 'resp_parent',
    call_id: 'call_1',
    tool: 'helper',
    input: 'summarise the plan\nin two lines',
  };
  const ask = (overrides: Partial<SessionCreateChildParams> = {}) =>
    t.sut.onCreateChild(connection, { ...params, parent_session_id: parent.id, ...overrides });

  beforeEach(() => {
    t = newTestService(ChildSessionsService);
    parent = sessionEntityFactory({ ownerId: 'alice', runnerId: 'runner_1', workspace: '/w' });
    parentUnit = lockedSessionFactory(parent);
    t.mock(SessionsRepository).getById.mockResolvedValue(parent);
    t.mock(AgentsService).getById.mockResolvedValue(
      agentFactory({ id: parent.agentId, spec: SPEC }) as never,
    );
    // The latest items first, as the page reads them.
    t.mock(ItemsRepository).page.mockResolvedValue({
      rows: [
        { ...itemFactory({ data: messageData('assistant', 'later') }), created_at: 3 },
        {
          ...itemFactory({ type: 'function_call', data: { name: 'shell', call_id: 'c' } }),
          created_at: 2,
        },
        { ...itemFactory({ data: messageData('user', 'earlier') }), created_at: 1 },
      ],
      hasMore: false,
    });
    t.mock(SessionsRepository).createChild.mockImplementation(async (fields) =>
      sessionEntityFactory(fields),
    );
    t.mock(TurnsService).startChildTurn.mockResolvedValue();
    t.mock(SessionEventsService).locked.mockImplementation(
      async <T>(_id: string, work: (s: LockedSession) => Promise<T>) => work(parentUnit),
    );
    t.mock(RunnerLinkService).buildInit.mockImplementation(
      async (child) => ({ session_id: child.id }) as SessionInitParams,
    );
  });

  it.each([
    ['a missing parent', null],
    ['a parent on another runner', { runnerId: 'runner_2' }],
    ["another owner's parent", { ownerId: 'bob' }],
  ])('should refuse %s as session_unknown', async (_label, change) => {
    t.mock(SessionsRepository).getById.mockResolvedValue(change && { ...parent, ...change });

    await expect(ask()).rejects.toMatchObject({ code: 1001, data: { code: 'session_unknown' } });
    expect(t.mock(SessionsRepository).createChild).not.toHaveBeenCalled();
  });

  it('should refuse a tool that is not a sub-agent of the parent', async () => {
    await expect(ask({ tool: 'shell' })).rejects.toMatchObject({
      data: { code: 'no_such_sub_agent' },
      message: `The agent of session ${parent.id} has no sub-agent tool 'shell'`,
    });
  });

  it('should create the child from the parent spec, start its turn and announce it', async () => {
    const result = await ask();

    const [fields, limits, agent, seeds] = t.mock(SessionsRepository).createChild.mock.calls[0];
    expect(fields).toMatchObject({
      ownerId: 'alice',
      kind: 'sub_agent',
      parentSessionId: parent.id,
      rootSessionId: parent.id,
      runnerId: 'runner_1',
      workspace: '/w',
      title: 'helper:summarise the plan',
      subAgentName: 'helper',
      agentId: agent.id,
    });
    expect(limits).toEqual({ maxPerOwner: t.config.quotas.sessionsPerUser, maxSiblings: 2 });
    expect(agent).toMatchObject({
      name: 'parent.helper',
      harness: 'echo',
      ownerSessionId: fields.id,
      ownerId: 'alice',
      spec: { name: 'parent.helper', instructions: 'Help.', tools: [] },
    });
    expect(agent.yaml).toContain('name: parent.helper');
    // pass_history: the parent's latest messages only, in order, as seeds of the child.
    expect(t.mock(ItemsRepository).page).toHaveBeenCalledWith(parent.id, {
      limit: 1000,
      order: 'desc',
    });
    expect(seeds.map((s) => [s.type, s.response_id, s.data])).toEqual([
      ['message', 'seed', messageData('user', 'earlier')],
      ['message', 'seed', messageData('assistant', 'later')],
    ]);
    expect(t.mock(TurnsService).startChildTurn).toHaveBeenCalledWith(
      expect.objectContaining({ id: fields.id }),
      result.turn_id,
      {
        itemId: result.item_id,
        data: {
          role: 'user',
          content: [{ type: 'input_text', text: 'summarise the plan\nin two lines' }],
        },
      },
    );
    expect(parentUnit.events).toEqual([
      expect.objectContaining({
        type: 'session.created',
        conversation_id: parent.id,
        parent_session_id: parent.id,
        child_session_id: fields.id,
      }),
      // The parent's rail gets the child whole, idle, before its first turn starts.
      expect.objectContaining({
        type: 'session.child_session.updated',
        child_session_id: fields.id,
        child: expect.objectContaining({
          id: fields.id,
          object: 'child_session',
          title: 'helper:summarise the plan',
          agent_name: 'parent.helper',
          busy: false,
          pending_elicitations_count: 0,
        }),
      }),
    ]);
    expect(result).toEqual({
      session_id: fields.id,
      turn_id: expect.stringMatching(/^resp_/),
      item_id: expect.stringMatching(/^msg_/),
      init: { session_id: fields.id },
    });
  });

  it('should answer max_sessions_reached past the cap, and start nothing', async () => {
    t.mock(SessionsRepository).createChild.mockResolvedValue('max_sessions');

    await expect(ask()).rejects.toMatchObject({
      code: 1400,
      data: { code: 'max_sessions_reached' },
      message: 'The sub-agent helper may create at most 2 session(s) per parent session',
    });
    expect(t.mock(TurnsService).startChildTurn).not.toHaveBeenCalled();
    expect(parentUnit.events).toEqual([]);
  });

  it('should answer session_quota when the owner has no room, copying no history without pass_history', async () => {
    t.mock(AgentsService).getById.mockResolvedValue(
      agentFactory({ spec: { ...SPEC, tools: [{ ...HELPER, pass_history: false }] } }) as never,
    );
    t.mock(SessionsRepository).createChild.mockResolvedValue('quota');

    await expect(ask()).rejects.toMatchObject({ code: 1402, data: { code: 'session_quota' } });
    expect(t.mock(SessionsRepository).createChild.mock.calls[0][3]).toEqual([]);
    expect(t.mock(ItemsRepository).page).not.toHaveBeenCalled();
  });
});
