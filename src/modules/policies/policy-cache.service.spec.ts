import { InMemoryBus } from 'src/common/bus/in-memory.bus';
import { PoliciesRepository } from 'src/modules/policies/policies.repository';
import { PolicyCacheService } from 'src/modules/policies/policy-cache.service';
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
