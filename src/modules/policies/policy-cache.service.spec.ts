import { InMemoryBus } from 'src/common/bus/in-memory.bus';
import { PoliciesRepository } from 'src/modules/policies/policies.repository';
import { POLICY_CACHE_TTL_MS, PolicyCacheService } from 'src/modules/policies/policy-cache.service';
import { PolicyEntity } from 'src/modules/policies/policy.entity';
import { AgentsService } from 'src/modules/registry/agents.service';

/** Two replicas' caches on one bus, over a policies table the test controls. */
function setup() {
  const bus = new InMemoryBus();
  const rows: Record<string, PolicyEntity[]> = { s1: [], default: [] };
  const list = jest.fn((scope: { scope: string; sessionId?: string }) =>
    Promise.resolve([...(rows[scope.sessionId ?? 'default'] ?? [])]),
  );
  const getById = jest.fn((id: string) =>
    Promise.resolve({ id, spec: { policies: [{ name: 'p', handler: 'a.b' }] } }),
  );
  const replica = () => {
    const cache = new PolicyCacheService({ getById } as unknown as AgentsService, bus, {
      list,
    } as unknown as PoliciesRepository);
    cache.onModuleInit();
    return cache;
  };
  return { rows, list, getById, replica };
}

const row = (name: string) => ({ name }) as PolicyEntity;

describe(PolicyCacheService.name, () => {
  it('should load each lookup once until a change', async () => {
    const { list, getById, replica } = setup();
    const cache = replica();
    for (let i = 0; i < 3; i++) {
      await cache.sessionPolicies('s1');
      await cache.defaultPolicies();
      await cache.agentSpec('ag_1');
    }
    expect(list).toHaveBeenCalledTimes(2);
    expect(getById).toHaveBeenCalledTimes(1);
  });

  it("should drop another replica's copy of a session's policies through the bus", async () => {
    const { rows, replica } = setup();
    const a = replica();
    const b = replica();
    expect(await b.sessionPolicies('s1')).toEqual([]);
    rows.s1 = [row('new')];
    a.changed({ scope: 'session', sessionId: 's1' });
    expect(await b.sessionPolicies('s1')).toEqual([row('new')]);
  });

  it('should drop every session and the defaults on a server-wide change', async () => {
    const { rows, list, replica } = setup();
    const a = replica();
    const b = replica();
    await b.sessionPolicies('s1');
    await b.defaultPolicies();
    rows.default = [row('admin')];
    a.changed({ scope: 'default' });
    expect(await b.defaultPolicies()).toEqual([row('admin')]);
    await b.sessionPolicies('s1');
    expect(list).toHaveBeenCalledTimes(4);
  });

  it('should not keep a load that was in flight when a change came in', async () => {
    const { rows, replica } = setup();
    const cache = replica();
    const stale = cache.sessionPolicies('s1');
    rows.s1 = [row('new')];
    cache.changed({ scope: 'session', sessionId: 's1' });
    expect(await stale).toEqual([]);
    expect(await cache.sessionPolicies('s1')).toEqual([row('new')]);
  });

  it('should peek at a settled, unexpired entry only, never loading', async () => {
    const { list, getById, rows, replica } = setup();
    const cache = replica();
    // Nothing cached: nothing to peek at, and nothing loaded by looking.
    expect(cache.peekSessionPolicies('s1')).toBeUndefined();
    expect(cache.peekDefaultPolicies()).toBeUndefined();
    expect(cache.peekAgentSpec('ag_1')).toBeUndefined();
    expect(list).not.toHaveBeenCalled();
    expect(getById).not.toHaveBeenCalled();

    rows.s1 = [row('mine')];
    const loading = cache.sessionPolicies('s1');
    const spec = cache.agentSpec('ag_1');
    // Still loading: a peek does not wait.
    expect(cache.peekSessionPolicies('s1')).toBeUndefined();
    await loading;
    await spec;
    expect(cache.peekSessionPolicies('s1')).toEqual({ value: [row('mine')] });
    expect(cache.peekAgentSpec('ag_1')).toEqual({ value: await spec });

    // Dropped by a change: nothing to peek at until loaded again.
    cache.changed({ scope: 'session', sessionId: 's1' });
    expect(cache.peekSessionPolicies('s1')).toBeUndefined();

    // Expired: as a lookup would load again, a peek has nothing.
    await cache.defaultPolicies();
    expect(cache.peekDefaultPolicies()).toEqual({ value: [] });
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + POLICY_CACHE_TTL_MS);
    try {
      expect(cache.peekDefaultPolicies()).toBeUndefined();
      expect(cache.peekAgentSpec('ag_1')).toBeUndefined();
    } finally {
      clock.mockRestore();
    }
  });

  it('should have nothing to peek at after a failed load', async () => {
    const { list, replica } = setup();
    const cache = replica();
    list.mockRejectedValueOnce(new Error('database down'));
    await expect(cache.sessionPolicies('s1')).rejects.toThrow('database down');
    expect(cache.peekSessionPolicies('s1')).toBeUndefined();
  });

  it('should stop listening when the module stops', async () => {
    const { rows, replica } = setup();
    const a = replica();
    const b = replica();
    await b.sessionPolicies('s1');
    b.onModuleDestroy();
    rows.s1 = [row('new')];
    a.changed({ scope: 'session', sessionId: 's1' });
    expect(await b.sessionPolicies('s1')).toEqual([]);
  });
});
