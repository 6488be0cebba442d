import { EventBus } from 'src/common/bus/event-bus';
import { InMemoryBus } from 'src/common/bus/in-memory.bus';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnerConnectionEntity } from 'src/modules/runners/runner-connection.entity';
import { RunnerRouterService } from 'src/modules/runners/runner-router.service';
import { RunnersRepository } from 'src/modules/runners/runners.repository';
import { RPC_TIMEOUT, RpcError } from 'src/protocol/json-rpc';
import { CloseCode } from 'src/protocol/runner-protocol';
import { newTestService } from 'test/utils/new-test-service';

const RUNNER = `runner_${'ab'.repeat(16)}`;

/** A runner socket as the router sees it: `request` is what the runner answers. */
function fakeConnection(epoch: number, request: jest.Mock = jest.fn()) {
  return {
    runnerId: RUNNER,
    ownerId: 'alice',
    epoch,
    isOpen: true,
    request,
    close: jest.fn(),
  } as unknown as RunnerConnection & { request: jest.Mock; close: jest.Mock };
}

describe(RunnerRouterService.name, () => {
  let bus: InMemoryBus;
  let holder: RunnerRouterService;
  let caller: RunnerRouterService;
  let directory: jest.Mocked<RunnersRepository>;

  /** Two replicas on one bus; the caller reads `row` from the directory. */
  async function replicas(row: Partial<RunnerConnectionEntity>) {
    bus = new InMemoryBus();
    const make = () => {
      const t = newTestService(RunnerRouterService, { overrides: new Map([[EventBus, bus]]) });
      t.mock(RunnersRepository).listOnline.mockResolvedValue([]);
      return t;
    };
    const h = make();
    const c = make();
    holder = h.sut;
    caller = c.sut;
    directory = c.mock(RunnersRepository);
    directory.getById.mockResolvedValue({
      runnerId: RUNNER,
      ownerId: 'alice',
      connected: true,
      lastSeenAt: new Date(),
      replicaId: holder.replicaId,
      epoch: 1,
      ...row,
    } as RunnerConnectionEntity);
    await Promise.all([holder.onApplicationBootstrap(), caller.onApplicationBootstrap()]);
  }

  afterEach(() => {
    holder?.onApplicationShutdown();
    caller?.onApplicationShutdown();
  });

  it('should run a call on the holding replica and return its result', async () => {
    await replicas({});
    const connection = fakeConnection(1, jest.fn().mockResolvedValue({ disposition: 'started' }));
    holder.hold(connection);
    await expect(caller.call(RUNNER, 'alice', 'turn.start', { x: 1 }, 5000)).resolves.toEqual({
      disposition: 'started',
    });
    expect(connection.request).toHaveBeenCalledWith('turn.start', { x: 1 }, 5000);
    expect(caller.isHeldElsewhere(RUNNER, 'alice')).toBe(true);
    expect(caller.isHeldElsewhere(RUNNER, 'bob')).toBe(false);
  });

  it("should pass the runner's JSON-RPC error through, data included", async () => {
    await replicas({});
    const error = new RpcError(-32010, 'unknown session', { code: 'session_unknown' });
    holder.hold(fakeConnection(1, jest.fn().mockRejectedValue(error)));
    const failure = await caller.call(RUNNER, 'alice', 'turn.start', {}, 5000).catch((e) => e);
    expect(failure).toBeInstanceOf(RpcError);
    expect(failure).toMatchObject({ code: -32010, message: 'unknown session' });
    expect((failure as RpcError).dataCode).toBe('session_unknown');
  });

  it('should answer 503 without publishing when the directory says the runner is gone', async () => {
    for (const row of [
      { connected: false },
      { lastSeenAt: new Date(Date.now() - 10 * 60_000) },
      { ownerId: 'bob' },
    ]) {
      await replicas(row);
      const connection = fakeConnection(1);
      holder.hold(connection);
      const failure = await caller.call(RUNNER, 'alice', 'turn.start', {}, 5000).catch((e) => e);
      expect(failure).toBeInstanceOf(DomainError);
      expect((failure as DomainError).code).toBe(ErrorCode.RunnerUnavailable);
      expect(connection.request).not.toHaveBeenCalled();
    }
  });

  it('should time out like a local call when no replica answers', async () => {
    await replicas({});
    const failure = await caller.call(RUNNER, 'alice', 'turn.cancel', {}, 10).catch((e) => e);
    expect(failure).toBeInstanceOf(RpcError);
    expect((failure as RpcError).code).toBe(RPC_TIMEOUT);
  });

  it('should close an older connection on another replica when a newer one says hello', async () => {
    await replicas({});
    const old = fakeConnection(3);
    holder.hold(old);
    caller.hold(fakeConnection(2));
    expect(old.close).not.toHaveBeenCalled();
    const newer = fakeConnection(4, jest.fn().mockResolvedValue('from the newest'));
    caller.hold(newer);
    expect(old.close).toHaveBeenCalledWith(CloseCode.Replaced, expect.any(String));
    holder.release(old);
    // The old holder leaving does not hide the newer holder from the others.
    expect(holder.isHeldElsewhere(RUNNER, 'alice')).toBe(true);
  });
});
