import { IdPrefix, newId } from 'src/common/ids/ids';
import { HostEntity } from 'src/modules/hosts/host.entity';
import { HostsRepository } from 'src/modules/hosts/hosts.repository';
import { factory } from 'test/factories';
import { describeIntegration } from 'test/integration/integration-context';

describeIntegration(HostsRepository.name, (ctx) => {
  let hosts: HostsRepository;

  beforeAll(() => {
    hosts = new HostsRepository(ctx.dataSource.getRepository(HostEntity));
  });

  const register = (hostId: string, ownerId: string, replicaId = 'replica-a') =>
    hosts.register({
      hostId,
      ownerId,
      name: 'box',
      version: '1.0.0',
      replicaId,
      capabilities: { harnesses: { echo: true } },
    });

  it('should bump the epoch on every connection and record the newest one', async () => {
    const hostId = newId(IdPrefix.Host);
    const ownerId = factory.userId();
    const first = await register(hostId, ownerId);
    const second = await register(hostId, ownerId, 'replica-b');

    expect([first, second]).toEqual([1, 2]);
    await expect(hosts.getById(hostId)).resolves.toMatchObject({
      ownerId,
      replicaId: 'replica-b',
      epoch: 2,
      connected: true,
      capabilities: { harnesses: { echo: true } },
    });
  });

  it("should never hand a host id to another user (the row stays the owner's)", async () => {
    const hostId = newId(IdPrefix.Host);
    const owner = factory.userId();
    await register(hostId, owner);

    await expect(register(hostId, factory.userId())).resolves.toBeNull();
    await expect(hosts.getById(hostId)).resolves.toMatchObject({ ownerId: owner, epoch: 1 });
  });

  it('should ignore the writes of a replaced connection (stale epoch)', async () => {
    const hostId = newId(IdPrefix.Host);
    const ownerId = factory.userId();
    const old = (await register(hostId, ownerId)) as number;
    await register(hostId, ownerId);

    await hosts.markDisconnected(hostId, old);
    await expect(hosts.getById(hostId)).resolves.toMatchObject({ connected: true, epoch: 2 });

    await hosts.markDisconnected(hostId, 2);
    const row = await hosts.getById(hostId);
    expect(row).toMatchObject({ connected: false });
    expect(row?.disconnectedAt).toBeInstanceOf(Date);
  });

  it("should list only the owner's hosts", async () => {
    const ownerId = factory.userId();
    const mine = [newId(IdPrefix.Host), newId(IdPrefix.Host)];
    for (const hostId of mine) {
      await register(hostId, ownerId);
    }
    await register(newId(IdPrefix.Host), factory.userId());

    const listed = await hosts.listByOwner(ownerId);
    expect(listed.map((h) => h.hostId)).toEqual(mine);
    expect((await hosts.getMany(mine)).map((h) => h.hostId).sort()).toEqual([...mine].sort());
  });
});
