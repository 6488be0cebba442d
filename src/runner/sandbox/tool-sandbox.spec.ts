import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer, Server } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { SandboxError, UnsandboxedTools } from 'src/runner/sandbox/tool-sandbox';
import { shellTool } from 'src/runner/tools/shell.tool';
import { ToolContext } from 'src/runner/tools/tool';
import { bwrapFor } from 'test/utils/tool-sandboxes';

const SECRET = `s3cret-${process.pid}-${Date.now()}`;

/** Host processes whose command line contains `marker` (the sandbox must leave none behind). */
function hostProcessesWith(marker: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function gone(marker: string): Promise<boolean> {
  for (let i = 0; i < 100 && hostProcessesWith(marker).length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return hostProcessesWith(marker).length === 0;
}

describe('the bubblewrap tool sandbox', () => {
  let base: string;
  let workspace: string;
  let outside: string;
  let controller: AbortController;
  let victim: ChildProcess;

  const shell = (command: string, context: Partial<ToolContext> = {}) =>
    shellTool.execute(
      { command },
      {
        workspace,
        signal: controller.signal,
        sandbox: bwrapFor(workspace),
        ...context,
      },
    );

  beforeAll(() => {
    // A process of the runner's user with a secret in its environment, like the server.
    victim = spawn('sleep', ['60'], { env: { ...process.env, VICTIM_SECRET: SECRET } });
  });

  afterAll(() => {
    victim.kill('SIGKILL');
  });

  beforeEach(() => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-sandbox-')));
    workspace = path.join(base, 'workspace');
    outside = path.join(base, 'outside');
    fs.mkdirSync(workspace);
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET);
    controller = new AbortController();
  });

  afterEach(() => {
    controller.abort();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it("should not show other processes' environments, which an unsandboxed shell can read", async () => {
    const attack = `cat /proc/${victim.pid}/environ; for f in /proc/[0-9]*/environ; do cat "$f"; done; ls /proc`;
    const bare = await shellTool.execute(
      { command: attack },
      { workspace, signal: controller.signal, sandbox: new UnsandboxedTools(workspace, {}) },
    );
    expect(bare).toContain(SECRET);

    const output = await shell(attack);

    expect(output).not.toContain(SECRET);
    expect(output).toContain(`/proc/${victim.pid}/environ: No such file or directory`);
    const pids = output.split('\n').filter((line) => /^\d+$/.test(line));
    expect(pids.length).toBeLessThan(10);
    expect(pids).not.toContain(String(victim.pid));
  });

  it("should start from a minimal environment, also for bwrap itself (the sandbox's PID 1)", async () => {
    const saved = process.env.OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN;
    process.env.OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN = SECRET;
    try {
      await expect(shell('cat /proc/1/environ')).resolves.toBe(
        'PATH=/usr/bin:/bin\uFFFD\n[exit code 0]',
      );
      const output = await shell('env | sort');

      expect(output.split('\n')).toEqual([
        `HOME=${workspace}`,
        expect.stringMatching(/^LANG=/),
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        `PWD=${workspace}`,
        'TMPDIR=/tmp',
        '[exit code 0]',
      ]);
    } finally {
      process.env.OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN = saved;
    }
  });

  it('should show nothing of the host outside the workspace but the read-only system', async () => {
    const output = await shell(
      `cat ${outside}/secret.txt; ls ${base}; touch /usr/x /etc/x; echo tmp > /tmp/t && cat /tmp/t; ` +
        'echo ok > inside.txt; node -e "console.log(process.version)"',
    );

    expect(output).not.toContain(SECRET);
    expect(output).toContain(`${outside}/secret.txt: No such file or directory`);
    expect(output).toMatch(/\/usr\/x.*Read-only file system/);
    expect(output).toMatch(/\/etc\/x.*Read-only file system/);
    expect(output).toContain('tmp\n');
    expect(output).toContain(process.version);
    expect(fs.readFileSync(path.join(workspace, 'inside.txt'), 'utf8')).toBe('ok\n');
    expect(fs.existsSync('/tmp/t')).toBe(false);
  });

  it('should give the file tools the same view: the worker cannot reach outside even when asked directly', async () => {
    fs.writeFileSync(path.join(workspace, 'in.txt'), 'inside');
    const toolFs = bwrapFor(workspace).openFs(controller.signal);
    try {
      await expect(toolFs.read(path.join(workspace, 'in.txt'), 0, 100)).resolves.toEqual(
        Buffer.from('inside'),
      );
      // What a symlink swapped in after the runner's path check (a TOCTOU race) would reach.
      await expect(toolFs.read(path.join(outside, 'secret.txt'), 0, 100)).rejects.toMatchObject({
        code: 'ENOENT',
      });
      await expect(toolFs.readdir(base)).resolves.toEqual(['workspace']);
      await expect(toolFs.writeFile('/etc/evil', Buffer.from('x'))).rejects.toMatchObject({
        code: 'EROFS',
      });
      await expect(toolFs.writeFile(path.join(outside, 'x'), Buffer.from('x'))).rejects.toThrow();
    } finally {
      toolFs.close();
    }
    expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
  });

  it('should let extra write paths be written, and nothing else outside', async () => {
    const output = await shellTool.execute(
      { command: `echo a > ${outside}/allowed.txt && echo written` },
      {
        workspace,
        signal: controller.signal,
        sandbox: bwrapFor(workspace, { writePaths: [outside] }),
      },
    );

    expect(output).toBe('written\n[exit code 0]');
    expect(fs.readFileSync(path.join(outside, 'allowed.txt'), 'utf8')).toBe('a\n');
  });

  describe('network', () => {
    let server: Server;
    let port: number;

    beforeAll(async () => {
      server = createServer((socket) => socket.end());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    const connect = () =>
      `node -e "require('net').connect(${port}, '127.0.0.1')` +
      `.on('connect', () => { console.log('CONNECTED'); process.exit(0) })` +
      `.on('error', (e) => console.log('FAILED', e.code))"`;

    it('should connect when the network is on, and not at all when the spec turns it off', async () => {
      await expect(shell(connect())).resolves.toContain('CONNECTED');

      const offline = await shellTool.execute(
        { command: connect() },
        {
          workspace,
          signal: controller.signal,
          sandbox: bwrapFor(workspace, { allowNetwork: false }),
        },
      );

      expect(offline).toContain('FAILED ECONNREFUSED');
      expect(offline).not.toContain('CONNECTED');
    });
  });

  it('should time out like the unsandboxed shell and leave no process behind, setsid escapees included', async () => {
    const marker = `32.${process.pid}`;

    const output = await shellTool.execute(
      { command: `setsid sleep ${marker} & sleep ${marker}`, timeout_ms: 500 },
      { workspace, signal: controller.signal, sandbox: bwrapFor(workspace) },
    );

    expect(output).toBe('[timed out after 500 ms; the command was killed]');
    await expect(gone(marker)).resolves.toBe(true);
  });

  it('should reject on abort and leave no process behind', async () => {
    const marker = `33.${process.pid}`;
    const deltas: string[] = [];
    const run = shell(`sleep ${marker} & echo started; wait`, {
      onOutputDelta: (delta) => deltas.push(delta),
    });
    while (deltas.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(hostProcessesWith(marker).length).toBeGreaterThan(0);
    controller.abort();

    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    await expect(gone(marker)).resolves.toBe(true);
  });

  it('should refuse a workspace path that is not what it claims to be (a swapped-in symlink)', () => {
    fs.symlinkSync(outside, path.join(base, 'swapped'));
    const sandbox = bwrapFor(path.join(base, 'swapped'));

    expect(() => sandbox.spawn(['true'], { detached: false, stdin: 'ignore' })).toThrow(
      SandboxError,
    );
  });
});
