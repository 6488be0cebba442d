import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { findBwrap, hostLayout, probeSandbox } from 'src/runner/sandbox/sandbox-probe';

describe(probeSandbox.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-probe-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('should find a working bubblewrap on this machine (CI installs it)', () => {
    const support = probeSandbox({ searchPath: process.env.PATH });

    expect(support).toMatchObject({
      available: true,
      bwrapPath: expect.stringMatching(/\/bwrap$/),
      version: expect.stringMatching(/^bubblewrap \d/),
      network: true,
      reason: null,
    });
  });

  it('should report a missing bwrap', () => {
    expect(probeSandbox({ bwrap: null })).toMatchObject({
      available: false,
      reason: 'bwrap was not found (install the bubblewrap package)',
    });
  });

  it('should say plainly when bwrap lacks the privileges it needs (a container)', () => {
    // Behaves like bwrap under Docker's default seccomp profile.
    const fake = path.join(dir, 'bwrap');
    fs.writeFileSync(
      fake,
      '#!/bin/sh\n[ "$1" = --version ] && { echo "bubblewrap 0.8.0"; exit 0; }\n' +
        'echo "bwrap: Creating new namespace failed: Operation not permitted" >&2; exit 1\n',
      { mode: 0o755 },
    );

    const support = probeSandbox({ bwrap: fake });

    expect(support.available).toBe(false);
    expect(support.reason).toContain('Creating new namespace failed: Operation not permitted');
    expect(support.reason).toContain('needs to create namespaces');
  });

  it('should notice when only network isolation fails', () => {
    const fake = path.join(dir, 'bwrap');
    fs.writeFileSync(
      fake,
      '#!/bin/sh\n[ "$1" = --version ] && { echo "bubblewrap 0.8.0"; exit 0; }\n' +
        'for a in "$@"; do [ "$a" = --unshare-net ] && { echo "bwrap: loopback: Failed RTM_NEWADDR" >&2; exit 1; }; done\n' +
        'exit 0\n',
      { mode: 0o755 },
    );

    expect(probeSandbox({ bwrap: fake })).toMatchObject({
      available: true,
      network: false,
      reason: expect.stringContaining('Failed RTM_NEWADDR'),
    });
  });
});

describe(findBwrap.name, () => {
  it('should search the PATH first, then /usr/bin and /bin', () => {
    expect(findBwrap('/nonexistent')).toMatch(/^\/(usr\/)?bin\/bwrap$/);
  });
});

describe(hostLayout.name, () => {
  it('should mirror the top-level system paths that exist, keeping symlinks as symlinks', () => {
    const layout = hostLayout();

    expect(layout).toContainEqual({ kind: 'dir', path: '/usr' });
    expect(layout).toContainEqual({ kind: 'dir', path: '/etc' });
    const bin = fs.lstatSync('/bin');
    expect(layout).toContainEqual(
      bin.isSymbolicLink()
        ? { kind: 'symlink', path: '/bin', target: fs.readlinkSync('/bin') }
        : { kind: 'dir', path: '/bin' },
    );
    expect(layout.map((e) => e.path)).not.toContain('/home');
  });
});
