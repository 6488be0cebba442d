import { describeSupport, resolveSandbox } from 'src/runner/sandbox/sandbox-policy';
import { SandboxSupport } from 'src/runner/sandbox/sandbox-probe';

const WORKS: SandboxSupport = {
  available: true,
  bwrapPath: '/usr/bin/bwrap',
  version: 'bubblewrap 0.8.0',
  network: true,
  reason: null,
  layout: [],
};
const MISSING: SandboxSupport = {
  available: false,
  bwrapPath: null,
  version: null,
  network: false,
  reason: 'bwrap was not found (install the bubblewrap package)',
  layout: [],
};
const NO_NET: SandboxSupport = {
  ...WORKS,
  network: false,
  reason: 'network isolation (--unshare-net) fails: Operation not permitted',
};

describe(resolveSandbox.name, () => {
  it('should use bubblewrap for auto, an omitted sandbox and null when it works', () => {
    for (const spec of [undefined, null, { type: null }, { type: 'auto' as const }]) {
      expect(resolveSandbox(spec, WORKS, false)).toEqual({
        kind: 'bwrap',
        allowNetwork: true,
        writePaths: [],
      });
    }
  });

  it('should fall back to no sandbox for auto when none works, unless one is required', () => {
    expect(resolveSandbox({ type: 'auto' }, MISSING, false)).toEqual({ kind: 'none' });
    expect(resolveSandbox(undefined, MISSING, false)).toEqual({ kind: 'none' });
    expect(resolveSandbox(undefined, MISSING, true)).toEqual({
      kind: 'unavailable',
      reason: expect.stringMatching(/requires a sandbox.*bwrap was not found/),
    });
  });

  it('should require bubblewrap for linux_bwrap', () => {
    expect(resolveSandbox({ type: 'linux_bwrap' }, WORKS, false).kind).toBe('bwrap');
    expect(resolveSandbox({ type: 'linux_bwrap' }, MISSING, false)).toEqual({
      kind: 'unavailable',
      reason: expect.stringMatching(/asks for the linux_bwrap sandbox.*bwrap was not found/),
    });
  });

  it('should honour none, except on a runner that requires a sandbox', () => {
    expect(resolveSandbox({ type: 'none' }, WORKS, false)).toEqual({ kind: 'none' });
    expect(resolveSandbox({ type: 'none' }, MISSING, false)).toEqual({ kind: 'none' });
    expect(resolveSandbox({ type: 'none' }, WORKS, true).kind).toBe('bwrap');
    expect(resolveSandbox({ type: 'none' }, MISSING, true).kind).toBe('unavailable');
  });

  it("should treat other platforms' sandboxes as unavailable here", () => {
    for (const type of ['darwin_seatbelt', 'windows_jobobject'] as const) {
      expect(resolveSandbox({ type }, WORKS, false)).toEqual({
        kind: 'unavailable',
        reason: expect.stringContaining(`${type} sandbox, which this Linux runner does not have`),
      });
    }
  });

  it('should pass allow_network and write_paths on, and refuse network-off where it cannot be done', () => {
    expect(
      resolveSandbox(
        { type: 'auto', allow_network: false, write_paths: ['/srv/cache'] },
        WORKS,
        false,
      ),
    ).toEqual({ kind: 'bwrap', allowNetwork: false, writePaths: ['/srv/cache'] });
    expect(resolveSandbox({ type: 'auto', allow_network: false }, NO_NET, false)).toEqual({
      kind: 'unavailable',
      reason: expect.stringContaining('turns the network off'),
    });
    expect(resolveSandbox({ type: 'auto' }, NO_NET, false).kind).toBe('bwrap');
  });
});

describe(describeSupport.name, () => {
  it('should say plainly what the sandbox does, or that tools run unsandboxed', () => {
    expect(describeSupport(WORKS, false)).toMatch(
      /^sandbox: bubblewrap 0\.8\.0 \(\/usr\/bin\/bwrap\): tools run with a read-only system/,
    );
    expect(describeSupport(WORKS, true)).toContain('(required)');
    expect(describeSupport(NO_NET, false)).toContain('allow_network: false cannot run tools');
    expect(describeSupport(MISSING, false)).toMatch(
      /^sandbox: UNAVAILABLE: bwrap was not found.*run UNSANDBOXED/,
    );
    expect(describeSupport(MISSING, true)).toContain('will not start');
  });
});
