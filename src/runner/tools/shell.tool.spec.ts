import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { toolEnvironment } from 'src/runner/sandbox/tool-env';
import { UnsandboxedTools } from 'src/runner/sandbox/tool-sandbox';
import { SHELL_MAX_OUTPUT_BYTES, shellTool } from 'src/runner/tools/shell.tool';
import { ToolContext } from 'src/runner/tools/tool';

function isAlive(pid: number): boolean {
  try {
    // A killed child of an exited shell may linger as a zombie until reaped; that counts as dead.
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntilDead(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && isAlive(pid); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !isAlive(pid);
}

describe(`${shellTool.name} (unsandboxed)`, () => {
  let workspace: string;
  let controller: AbortController;
  let deltas: string[];
  let context: ToolContext;

  beforeEach(() => {
    workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-shell-')));
    controller = new AbortController();
    deltas = [];
    context = {
      workspace,
      signal: controller.signal,
      onOutputDelta: (delta) => deltas.push(delta),
      sandbox: new UnsandboxedTools(workspace, process.env),
    };
  });

  afterEach(() => {
    controller.abort();
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('should run in the workspace and report the exit code', async () => {
    await expect(shellTool.execute({ command: 'pwd' }, context)).resolves.toBe(
      `${workspace}\n[exit code 0]`,
    );
  });

  it('should combine stdout and stderr, stream them and report a non-zero exit', async () => {
    const output = await shellTool.execute(
      { command: 'echo out; sleep 0.05; echo err >&2; exit 3' },
      context,
    );

    expect(output).toBe('out\nerr\n[exit code 3]');
    expect(deltas.join('')).toBe('out\nerr\n');
  });

  it('should kill the whole process group on timeout', async () => {
    const output = await shellTool.execute(
      { command: 'sleep 30 & echo $!; wait', timeout_ms: 300 },
      context,
    );

    const pid = Number(output.split('\n')[0]);
    expect(output).toBe(`${pid}\n[timed out after 300 ms; the command was killed]`);
    await expect(waitUntilDead(pid)).resolves.toBe(true);
  });

  it('should kill the process group and reject when aborted', async () => {
    const started = Date.now();
    const run = shellTool.execute({ command: 'sleep 30 & echo $!; wait' }, context);
    while (deltas.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    controller.abort();

    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(waitUntilDead(Number(deltas.join('').trim()))).resolves.toBe(true);
  });

  it('should reject at once when the signal is already aborted', async () => {
    controller.abort();

    await expect(shellTool.execute({ command: 'echo hi' }, context)).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('should cap the output and note how much was cut', async () => {
    const output = await shellTool.execute(
      { command: 'head -c 200000 /dev/zero | tr "\\0" a' },
      context,
    );

    expect(output).toBe(
      `${'a'.repeat(SHELL_MAX_OUTPUT_BYTES)}\n` +
        `[output truncated at 64 KiB; ${200000 - SHELL_MAX_OUTPUT_BYTES} more bytes not shown]\n` +
        '[exit code 0]',
    );
    expect(deltas.join('')).toHaveLength(SHELL_MAX_OUTPUT_BYTES);
  });

  it('should replace NUL bytes, which cannot be stored, in the output and its deltas', async () => {
    const output = await shellTool.execute({ command: "printf 'a\\000b'" }, context);

    expect(output).toBe('a\uFFFDb\n[exit code 0]');
    expect(deltas.join('')).toBe('a\uFFFDb');
  });

  it('should strip runner secrets from the environment', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN: 'tunnel',
      OPENAI_API_KEY: 'sk-test',
      VISIBLE_SETTING: 'visible',
    });
    try {
      const output = await shellTool.execute({ command: 'env' }, context);

      expect(output).toContain('VISIBLE_SETTING=visible');
      expect(output).not.toContain('tunnel');
      expect(output).not.toContain('sk-test');
    } finally {
      process.env = saved;
    }
  });

  it('should return error text for bad arguments', async () => {
    await expect(shellTool.execute({}, context)).resolves.toBe(
      'Error: command is required and must be a non-empty string',
    );
    await expect(shellTool.execute({ command: 'true', timeout_ms: -1 }, context)).resolves.toBe(
      'Error: timeout_ms must be a positive number of milliseconds',
    );
  });
});

describe(toolEnvironment.name, () => {
  it('should drop secrets and runner settings and keep the rest', () => {
    expect(
      toolEnvironment({
        PATH: '/usr/bin',
        HOME: '/home/u',
        LANG: undefined,
        OMNIGENT_RUNNER_ID: 'runner_x',
        OMNIGENT_ANYTHING: 'x',
        GITHUB_TOKEN: 'x',
        github_token: 'x',
        AWS_SECRET_ACCESS_KEY: 'x',
        DB_PASSWORD: 'x',
        OPENAI_API_KEY: 'x',
        SSH_PRIVATE_KEY: 'x',
        OPENAI_BASE_URL: 'x',
        DATABASE_URL: 'x',
        REDIS_URL: 'x',
        OPENAI_MODEL: 'gpt',
      }),
    ).toEqual({ PATH: '/usr/bin', HOME: '/home/u', OPENAI_MODEL: 'gpt' });
  });
});
