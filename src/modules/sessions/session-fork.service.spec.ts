import { AgentEntity } from 'src/modules/registry/agent.entity';
import { AgentsService } from 'src/modules/registry/agents.service';
import { SessionResponseDto } from 'src/modules/sessions/dto/session-response.dto';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { SessionAccessService } from 'src/modules/sessions/session-access.service';
import { SessionForkService } from 'src/modules/sessions/session-fork.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionsService } from 'src/modules/sessions/sessions.service';
import { agentFactory, factory, sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

describe(SessionForkService.name, () => {
  let t: TestService<SessionForkService>;
  const auth = factory.auth();
  const agent = agentFactory() as AgentEntity;

  describe('fork', () => {
    const source = sessionEntityFactory({ title: 'Original', labels: { k: 'v' } });

    beforeEach(() => {
      t = newTestService(SessionForkService);
      t.mock(SessionAccessService).require.mockResolvedValue(source);
      t.mock(SessionQuotasService).checkCreated.mockImplementation((s) => s as SessionEntity);
    });

    it("should fork up to a response into a session of the caller's on the source's agent", async () => {
      const snapshot = { id: 'conv_snapshot' } as SessionResponseDto;
      t.mock(ItemsRepository).lastPositionOfResponse.mockResolvedValue(7);
      t.mock(AgentsService).agentForFork.mockResolvedValue({ agentId: agent.id });
      t.mock(SessionsRepository).fork.mockImplementation((fields) =>
        Promise.resolve(sessionEntityFactory(fields)),
      );
      t.mock(SessionsService).snapshot.mockResolvedValue(snapshot);

      const fork = await t.sut.fork(auth, source.id, { up_to_response_id: 'resp_1' });

      const [fields, from, quota] = t.mock(SessionsRepository).fork.mock.calls[0];
      expect(fields).toMatchObject({
        ownerId: auth.userId,
        agentId: agent.id,
        title: 'Fork of Original',
        labels: { k: 'v' },
      });
      expect(from).toEqual({ sessionId: source.id, upToPosition: 7, cloneAgent: undefined });
      expect(quota).toBe(t.config.quotas.sessionsPerUser);
      expect(t.mock(SessionsService).snapshot).toHaveBeenCalledWith(
        auth,
        expect.objectContaining({ id: fields.id, runnerId: null }),
      );
      expect(fork).toBe(snapshot);
    });

    it('should refuse a response the source does not have with 400', async () => {
      t.mock(ItemsRepository).lastPositionOfResponse.mockResolvedValue(null);
      await expect(
        t.sut.fork(auth, source.id, { up_to_response_id: 'resp_x' }),
      ).rejects.toMatchObject({ code: 'invalid_input' });
      expect(t.mock(SessionsRepository).fork).not.toHaveBeenCalled();
    });
  });
});
