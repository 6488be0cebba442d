import { BwrapPlan, bwrapArgs } from 'src/runner/sandbox/bwrap-args';

function plan(overrides: Partial<BwrapPlan> = {}): BwrapPlan {
  return {
    layout: [
      { kind: 'dir', path: '/usr' },
      { kind: 'symlink', path: '/bin', target: 'usr/bin' },
      { kind: 'dir', path: '/etc' },
    ],
    workspace: '/srv/ws/conv_1',
    workspaceFd: 3,
    writePaths: [],
    hidePaths: [],
    readOnlyFiles: [],
    allowNetwork: true,
    env: { PATH: '/usr/bin:/bin', HOME: '/srv/ws/conv_1' },
    ...overrides,
  };
}

/** The args as option groups: ['--ro-bind', '/usr', '/usr'] → '--ro-bind /usr /usr'. */
function groups(args: string[]): string[] {
  const arity: Record<string, number> = {
    '--ro-bind': 2,
    '--bind-fd': 2,
    '--bind': 2,
    '--symlink': 2,
    '--setenv': 2,
    '--dev': 1,
    '--proc': 1,
    '--tmpfs': 1,
    '--chdir': 1,
  };
  const result: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const count = arity[args[i]] ?? 0;
    result.push(args.slice(i, i + count + 1).join(' '));
    i += count;
  }
  return result;
}

describe(bwrapArgs.name, () => {
  it('should build the sandbox of spec/stack.md §9 with the system read-only and the workspace writable', () => {
    expect(groups(bwrapArgs(plan()))).toEqual([
      '--die-with-parent',
      '--new-session',
      '--unshare-pid',
      '--unshare-ipc',
      '--ro-bind /usr /usr',
      '--symlink usr/bin /bin',
      '--ro-bind /etc /etc',
      '--dev /dev',
      '--proc /proc',
      '--tmpfs /tmp',
      '--bind-fd 3 /srv/ws/conv_1',
      '--clearenv',
      '--setenv PATH /usr/bin:/bin',
      '--setenv HOME /srv/ws/conv_1',
      '--chdir /srv/ws/conv_1',
      '--',
    ]);
  });

  it('should cut the network only when the spec turns it off', () => {
    expect(bwrapArgs(plan())).not.toContain('--unshare-net');
    expect(bwrapArgs(plan({ allowNetwork: false }))).toContain('--unshare-net');
  });

  it('should mask hidden directories and files that a system bind would show, and only those, before the workspace', () => {
    const args = groups(
      bwrapArgs(
        plan({
          hidePaths: [
            { path: '/etc/omnigent', kind: 'dir' },
            { path: '/etc/omnigent.env', kind: 'file' },
            { path: '/root/.omnigent', kind: 'dir' },
            { path: '/tmp/omnigent-data', kind: 'dir' },
          ],
          workspace: '/etc/omnigent/workspaces/conv_1',
        }),
      ),
    );

    expect(args).toContain('--tmpfs /etc/omnigent');
    expect(args).toContain('--ro-bind /dev/null /etc/omnigent.env');
    expect(args).not.toContain('--tmpfs /root/.omnigent');
    expect(args).not.toContain('--tmpfs /tmp/omnigent-data');
    expect(args.indexOf('--tmpfs /etc/omnigent')).toBeGreaterThan(
      args.indexOf('--ro-bind /etc /etc'),
    );
    expect(args.indexOf('--bind-fd 3 /etc/omnigent/workspaces/conv_1')).toBeGreaterThan(
      args.indexOf('--tmpfs /etc/omnigent'),
    );
  });

  it('should bind extra write paths and read-only files by what the runner opened', () => {
    const args = groups(
      bwrapArgs(
        plan({
          writePaths: [{ path: '/srv/cache', fd: 4 }],
          readOnlyFiles: [{ source: '/opt/app/fs-worker.js', target: '/.omnigent/fs-worker.js' }],
        }),
      ),
    );

    expect(args).toContain('--bind-fd 4 /srv/cache');
    expect(args).toContain('--ro-bind /opt/app/fs-worker.js /.omnigent/fs-worker.js');
    expect(args.filter((a) => a.startsWith('--bind'))).toEqual([
      '--bind-fd 3 /srv/ws/conv_1',
      '--bind-fd 4 /srv/cache',
    ]);
  });

  it('should carry a host file a bound symlink needs (resolv.conf under /run)', () => {
    const args = groups(
      bwrapArgs(
        plan({
          layout: [
            { kind: 'dir', path: '/etc' },
            { kind: 'file', path: '/run/systemd/resolve/stub-resolv.conf' },
          ],
        }),
      ),
    );

    expect(args).toContain(
      '--ro-bind /run/systemd/resolve/stub-resolv.conf /run/systemd/resolve/stub-resolv.conf',
    );
  });

  it('should keep the PTY as controlling terminal and bind by path for an interactive terminal', () => {
    const args = groups(
      bwrapArgs(
        plan({
          workspaceFd: null,
          writePaths: [{ path: '/srv/cache', fd: null }],
          interactive: true,
          chdir: '/srv/ws/conv_1/src',
        }),
      ),
    );
    expect(args).not.toContain('--new-session');
    expect(args.slice(0, 3)).toEqual(['--die-with-parent', '--unshare-pid', '--unshare-ipc']);
    expect(args).toContain('--bind /srv/ws/conv_1 /srv/ws/conv_1');
    expect(args).toContain('--bind /srv/cache /srv/cache');
    expect(args).toContain('--clearenv');
    expect(args.slice(-2)).toEqual(['--chdir /srv/ws/conv_1/src', '--']);
  });
});
