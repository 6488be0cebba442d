import { AgentEntity } from 'src/modules/registry/agent.entity';
import { AgentsService, PreparedBundle } from 'src/modules/registry/agents.service';
import { RunnersService } from 'src/modules/runners/runners.service';
import { CreateSessionDto } from 'src/modules/sessions/dto/session-request.dto';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { SessionHooks } from 'src/modules/sessions/session-hooks';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionPlacementService } from 'src/modules/sessions/session-placement.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionsService } from 'src/modules/sessions/sessions.service';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import { agentFactory, factory, messageData, sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

const RUNNER = `runner_${'b'.repeat(32)}`;

describe(SessionsService.name, () => {
  let t: TestService<SessionsService>;
  const auth = factory.auth();
  const agent = agentFactory() as AgentEntity;

  /** Reads of a snapshot: the agent, no items, the runner offline. */
  const snapshotReads = () => {
    t.mock(AgentsService).getById.mockResolvedValue(agent);
    t.mock(ItemsRepository).listAll.mockResolvedValue([]);
    t.mock(RunnersService).isOnline.mockResolvedValue(false);
  };
  /** createWithAgent stores what it is given and the access check finds it again. */
  const storeCreated = () => {
    let stored: SessionEntity | undefined;
    t.mock(SessionsRepository).createWithAgent.mockImplementation((fields) => {
      stored = sessionEntityFactory(fields);
      return Promise.resolve(stored);
    });
    t.mock(SessionQuotasService).checkCreated.mockImplementation((s) => s as SessionEntity);
    t.mock(SessionAccessService).require.mockImplementation(() =>
      Promise.resolve(stored as SessionEntity),
    );
    t.mock(SessionAccessService).displayLevel.mockReturnValue(SessionLevel.Owner);
  };
  const json = (dto: Partial<CreateSessionDto> = {}) => ({
    kind: 'json' as const,
    dto: { agent_id: agent.id, ...dto } as CreateSessionDto,
  });

  beforeEach(() => {
    t = newTestService(SessionsService);
    // No policies module in the unit tier: the hooks have no gate (every call allowed).
    t.mock(TurnPolicyHooks).get.mockReturnValue(undefined);
  });

  describe('create', () => {
    beforeEach(() => {
      t.mock(AgentsService).getUsable.mockResolvedValue(agent);
      t.mock(SessionPlacementService).placement.mockImplementation((principal) =>
        Promise.resolve({
          id: factory.id(),
          ownerId: principal.userId,
          kind: 'default',
          parentSessionId: null,
          rootSessionId: null,
          runnerId: RUNNER,
        }),
      );
      t.mock(RunnerLinkService).initInBackground.mockReturnValue(undefined);
      t.mock(RunnerLinkService).isReachable.mockReturnValue(false);
      storeCreated();
      snapshotReads();
    });

    it('should create a session on the agent where placement puts it, and init it', async () => {
      const created = await t.sut.create(auth, json({ title: 'T', labels: { a: 'b' } }));

      expect(t.mock(SessionPlacementService).placement).toHaveBeenCalledWith(auth, undefined, null);
      const [fields, quota, bundleAgent] = t.mock(SessionsRepository).createWithAgent.mock.calls[0];
      expect(quota).toBe(t.config.quotas.sessionsPerUser);
      expect(fields).toMatchObject({
        id: expect.stringMatching(/^conv_/),
        ownerId: auth.userId,
        agentId: agent.id,
        kind: 'default',
        runnerId: RUNNER,
        title: 'T',
        labels: { a: 'b' },
      });
      expect(bundleAgent).toBeUndefined();
      expect(t.mock(RunnerLinkService).initInBackground).toHaveBeenCalledWith(
        expect.objectContaining({ id: fields.id }),
      );
      expect(created).toMatchObject({ id: fields.id, runner_id: RUNNER, agent_name: agent.name });
    });

    it('should refuse what this server cannot create with 400 before any lookup', async () => {
      await expect(t.sut.create(auth, json({ host_type: 'managed' }))).rejects.toMatchObject({
        code: 'invalid_input',
      });
      await expect(t.sut.create(auth, json({ host_id: 'host_1' }))).rejects.toMatchObject({
        code: 'invalid_input',
      });
      expect(t.mock(AgentsService).getUsable).not.toHaveBeenCalled();
    });

    it('should answer a malformed agent id with 404', async () => {
      await expect(t.sut.create(auth, json({ agent_id: 'no such id!' }))).rejects.toMatchObject({
        code: 'not_found',
      });
    });

    it('should post initial user messages as turns when a runner is connected, and seed the rest', async () => {
      t.mock(RunnerLinkService).isReachable.mockReturnValue(true);
      t.mock(TurnsService).post.mockResolvedValue({ queued: true, item_id: 'msg_1' });
      t.mock(ItemsRepository).insertMany.mockResolvedValue([]);
      const user = { type: 'message', data: messageData('user', 'go') };
      const assistant = { type: 'message', data: messageData('assistant', 'earlier') };

      await t.sut.create(auth, json({ initial_items: [assistant, user] }));

      expect(t.mock(TurnsService).post).toHaveBeenCalledWith(auth, expect.any(String), user);
      expect(t.mock(ItemsRepository).insertMany).toHaveBeenCalledWith(expect.any(String), [
        expect.objectContaining({ type: 'message', response_id: 'seed', data: assistant.data }),
      ]);
    });

    it('should refuse an invalid initial item with 400 before creating anything', async () => {
      await expect(
        t.sut.create(auth, json({ initial_items: [{ type: 'nonsense', data: {} }] })),
      ).rejects.toMatchObject({ code: 'invalid_input' });
      expect(t.mock(SessionsRepository).createWithAgent).not.toHaveBeenCalled();
    });

    it('should create a session-scoped agent from an uploaded bundle with the session', async () => {
      const prepared = { spec: { name: 'uploaded' }, yaml: 'x', bundle: Buffer.from('b') };
      const scoped = agentFactory({ name: 'uploaded' });
      t.mock(AgentsService).prepareBundle.mockResolvedValue(prepared as unknown as PreparedBundle);
      t.mock(AgentsService).sessionAgent.mockReturnValue(scoped);

      const created = await t.sut.create(auth, {
        kind: 'bundle',
        metadata: { title: 'From a bundle' },
        bundle: prepared.bundle,
      });

      const [fields, , withAgent] = t.mock(SessionsRepository).createWithAgent.mock.calls[0];
      expect(t.mock(AgentsService).sessionAgent).toHaveBeenCalledWith(
        prepared,
        fields.id,
        auth.userId,
      );
      expect(withAgent).toBe(scoped);
      expect(fields).toMatchObject({ agentId: scoped.id, title: 'From a bundle' });
      expect(created).toEqual({
        session_id: fields.id,
        agent_id: scoped.id,
        agent_name: 'uploaded',
      });
    });
  });

  describe('update', () => {
    const session = sessionEntityFactory({ ownerId: auth.userId, runnerId: RUNNER });

    beforeEach(() => {
      t.mock(SessionAccessService).require.mockResolvedValue(session);
      t.mock(SessionAccessService).displayLevel.mockReturnValue(SessionLevel.Owner);
      t.mock(SessionsRepository).update.mockResolvedValue(undefined);
      snapshotReads();
    });

    it("should bind a runner by the session owner's rule and move the session to it", async () => {
      const other = `runner_${'c'.repeat(32)}`;
      t.mock(RunnersService).bindingFor.mockResolvedValue(other);
      t.mock(RunnerLinkService).rebound.mockReturnValue(undefined);

      await t.sut.update(factory.auth({ isAdmin: true }), session.id, { runner_id: other });

      expect(t.mock(SessionAccessService).require.mock.calls[0][2]).toBe(SessionLevel.Owner);
      expect(t.mock(RunnersService).bindingFor).toHaveBeenCalledWith(auth.userId, other);
      expect(t.mock(SessionsRepository).update).toHaveBeenCalledWith(session.id, {
        runnerId: other,
      });
      expect(t.mock(RunnerLinkService).rebound).toHaveBeenCalledWith(
        RUNNER,
        expect.objectContaining({ runnerId: other }),
      );
    });

    it('should ask only for edit level to retitle, and tell the runner about a model change', async () => {
      t.mock(RunnerLinkService).snapshotChanged.mockReturnValue(undefined);

      await t.sut.update(auth, session.id, { title: 'New', model_override: 'gpt-x' });

      expect(t.mock(SessionAccessService).require.mock.calls[0][2]).toBe(SessionLevel.Edit);
      expect(t.mock(SessionsRepository).update).toHaveBeenCalledWith(session.id, {
        title: 'New',
        modelOverride: 'gpt-x',
      });
      expect(t.mock(RunnerLinkService).snapshotChanged).toHaveBeenCalled();
    });

    it('should not tell the runner about a silent model change', async () => {
      await t.sut.update(auth, session.id, { model_override: 'gpt-x', silent: true });
      expect(t.mock(RunnerLinkService).snapshotChanged).not.toHaveBeenCalled();
    });
  });

  describe('delete', () => {
    it('should delete the tree, end its streams and tell its runners', async () => {
      const root = sessionEntityFactory({ ownerId: auth.userId });
      const child = sessionEntityFactory({ parentSessionId: root.id });
      t.mock(SessionAccessService).require.mockResolvedValue(root);
      t.mock(SessionsRepository).deleteTree.mockResolvedValue([root, child]);
      t.mock(SessionEventsService).closeStreams.mockReturnValue(undefined);
      t.mock(RunnerLinkService).closed.mockReturnValue(undefined);
      t.mock(SessionHooks).deleted.mockResolvedValue(undefined);

      const answer = await t.sut.delete(auth, root.id);

      expect(t.mock(SessionAccessService).require.mock.calls[0][2]).toBe(SessionLevel.Owner);
      expect(t.mock(SessionEventsService).closeStreams.mock.calls).toEqual([[root.id], [child.id]]);
      expect(t.mock(RunnerLinkService).closed.mock.calls.map((c) => c[1])).toEqual([
        'deleted',
        'deleted',
      ]);
      expect(t.mock(SessionHooks).deleted).toHaveBeenCalledWith([root.id, child.id]);
      expect(answer).toEqual({ id: root.id, object: 'conversation.deleted', deleted: true });
    });
  });

  describe('list', () => {
    it('should answer a malformed agent filter with an empty page, without a query', async () => {
      await expect(t.sut.list(auth, { agent_id: 'bad id' })).resolves.toMatchObject({
        data: [],
        has_more: false,
      });
    });

    it('should refuse an unknown cursor with 400', async () => {
      t.mock(SessionsRepository).list.mockResolvedValue(null);
      await expect(t.sut.list(auth, { after: 'conv_x' })).rejects.toMatchObject({
        code: 'invalid_input',
        message: 'Unknown pagination cursor',
      });
    });
  });
});
