import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { HostConnection } from 'src/modules/hosts/host-connection';
import { HostGatewayService } from 'src/modules/hosts/host-gateway.service';
import { HostRouterService } from 'src/modules/hosts/host-router.service';
import { HostEntity } from 'src/modules/hosts/host.entity';
import { HostsRepository } from 'src/modules/hosts/hosts.repository';
import { HostsService } from 'src/modules/hosts/hosts.service';
import { RPC_DISCONNECTED, RPC_TIMEOUT, RpcError } from 'src/protocol/json-rpc';
import { newTestService, TestService } from 'test/utils/new-test-service';

const OWNER = 'user-1';
const HOST_ID = `host_${'ab'.repeat(16)}`;

function hostRow(overrides: Partial<HostEntity> = {}): HostEntity {
  return {
    hostId: HOST_ID,
    ownerId: OWNER,
    name: 'box',
    version: '1.0.0',
    replicaId: 'r',
    epoch: 1,
    connected: true,
    connectedAt: new Date(),
    lastSeenAt: new Date(),
    disconnectedAt: null,
    capabilities: { harnesses: { echo: true } },
    createdAt: new Date(),
    ...overrides,
  };
}

describe(HostsService.name, () => {
  let t: TestService<HostsService>;
  const auth = { userId: OWNER, isAdmin: false } as never;
  const request = jest.fn();

  beforeEach(() => {
    t = newTestService(HostsService, { env: { OMNIGENT_HOST_RPC_TIMEOUT_MS: '1234' } });
    // Not held here nor, as the directory says, anywhere else.
    t.mock(HostRouterService).call.mockRejectedValue(
      new DomainError(ErrorCode.Conflict, 'host is offline'),
    );
    request.mockReset();
    t.mock(HostsRepository).getById.mockResolvedValue(hostRow());
    t.mock(HostGatewayService).local.mockReturnValue({
      ownerId: OWNER,
      request,
    } as unknown as HostConnection);
  });

  it("should answer 404 for a missing, malformed or someone else's host", async () => {
    t.mock(HostsRepository).getById.mockResolvedValueOnce(hostRow({ ownerId: 'someone-else' }));
    await expect(t.sut.get(auth, HOST_ID)).rejects.toMatchObject({ code: 'not_found' });
    await expect(t.sut.get(auth, 'host_nope')).rejects.toMatchObject({ code: 'not_found' });
    t.mock(HostsRepository).getById.mockResolvedValueOnce(null);
    await expect(t.sut.get(auth, HOST_ID)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('should report a host not seen within the liveness TTL as offline', async () => {
    t.mock(HostsRepository).getById.mockResolvedValueOnce(
      hostRow({ lastSeenAt: new Date(Date.now() - 10 * 60_000) }),
    );
    await expect(t.sut.get(auth, HOST_ID)).resolves.toMatchObject({ status: 'offline' });
  });

  it('should send fs.list with the configured timeout and map the answer', async () => {
    const entries = [{ name: 'a', path: '/h/a', type: 'file', bytes: 1, modified_at: 1 }];
    request.mockResolvedValue({ path: '/h', entries, has_more: true });
    await expect(t.sut.listDirectory(auth, HOST_ID, '~', { limit: 5 })).resolves.toEqual({
      object: 'list',
      data: entries,
      has_more: true,
    });
    expect(request).toHaveBeenCalledWith('fs.list', { path: '~', limit: 5 }, 1234);
  });

  it.each([
    ['no connection', null, 'conflict'],
    ['a timeout', new RpcError(RPC_TIMEOUT, 'timed out'), 'timeout'],
    ['a lost connection', new RpcError(RPC_DISCONNECTED, 'closed'), 'bad_gateway'],
    ['io_error', new RpcError(1200, 'disk on fire', { code: 'io_error' }), 'bad_gateway'],
    ['not_found', new RpcError(1200, 'gone', { code: 'not_found' }), 'not_found'],
    ['path_unreachable', new RpcError(1200, 'out', { code: 'path_unreachable' }), 'forbidden'],
  ])('should map %s on a listing to %s', async (_what, error, code) => {
    if (error === null) {
      t.mock(HostGatewayService).local.mockReturnValue(undefined);
    } else {
      request.mockRejectedValue(error);
    }
    await expect(t.sut.listDirectory(auth, HOST_ID, '/x', {})).rejects.toMatchObject({ code });
  });

  it.each([
    ['harness_not_configured', 1100, 'harness_not_configured'],
    ['workspace_missing', 1101, 'workspace_missing'],
    ['spawn_failed', 1102, 'bad_gateway'],
  ])('should map a launch refused with %s to %s', async (dataCode, rpcCode, code) => {
    request.mockRejectedValue(new RpcError(rpcCode, 'no', { code: dataCode }));
    await expect(
      t.sut.launchRunner(hostRow(), { binding_token: 't', workspace: '/w', session_id: 's' }),
    ).rejects.toMatchObject({ code });
  });

  it('should map a mkdir of an existing path to 409 and refuse bad paths before calling', async () => {
    request.mockRejectedValue(new RpcError(1200, 'exists', { code: 'already_exists' }));
    await expect(t.sut.createDirectory(auth, HOST_ID, { path: '~/x' })).rejects.toMatchObject({
      code: 'conflict',
    });
    request.mockReset();
    for (const path of ['', 'relative', '/a\0b']) {
      await expect(t.sut.createDirectory(auth, HOST_ID, { path })).rejects.toMatchObject({
        code: 'invalid_input',
      });
    }
    expect(request).not.toHaveBeenCalled();
  });

  it('should not use a connection of another owner (the host row was re-registered)', async () => {
    t.mock(HostGatewayService).local.mockReturnValue({
      ownerId: 'someone-else',
      request,
    } as unknown as HostConnection);
    await expect(t.sut.listDirectory(auth, HOST_ID, '/x', {})).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(request).not.toHaveBeenCalled();
    expect(t.mock(HostRouterService).call).toHaveBeenCalledWith(
      HOST_ID,
      expect.any(String),
      expect.any(String),
      expect.anything(),
      1234,
    );
  });
});
