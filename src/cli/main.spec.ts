import { Command } from 'commander';

import { CliCommand, ExitCode, fromCliCommand } from 'src/cli/cli-command';
import { buildProgram, runCli } from 'src/cli/main';

describe('omnigent CLI', () => {
  let stderr: jest.SpyInstance;
  let stdout: jest.SpyInstance;

  beforeEach(() => {
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());

  it('should register every command with its summary', () => {
    const names = buildProgram().commands.map((c) => c.name());
    expect(names).toEqual(
      expect.arrayContaining(['serve', 'runner', 'chat', 'token', 'migrate', 'sync-openapi']),
    );
  });

  it('should exit 2 with one line for an unknown command, and with help for none', async () => {
    expect(await runCli(['frobnicate'])).toBe(ExitCode.Usage);
    expect(stderr.mock.calls.join('')).toContain("omnigent: unknown command 'frobnicate'");
    expect(await runCli([])).toBe(ExitCode.Usage);
  });

  it('should exit 0 for --help and --version', async () => {
    expect(await runCli(['--version'])).toBe(ExitCode.Ok);
    expect(await runCli(['chat', '--help'])).toBe(ExitCode.Ok);
    expect(stdout.mock.calls.join('')).toContain('OMNIGENT_SERVER_URL');
  });

  it('should run an argv-taking command through fromCliCommand and keep its exit code', async () => {
    const seen: string[][] = [];
    const legacy: CliCommand = {
      name: 'legacy',
      summary: 'an old-style command',
      usage: 'omnigent legacy [--flag X]',
      run: (args) => {
        seen.push(args);
        return Promise.resolve(args.includes('--fail') ? 1 : undefined);
      },
    };
    const program = new Command('omnigent').exitOverride().addCommand(fromCliCommand(legacy));
    await program.parseAsync(['legacy', '--flag', 'x', 'rest'], { from: 'user' });
    expect(seen).toEqual([['--flag', 'x', 'rest']]);
    await expect(program.parseAsync(['legacy', '--fail'], { from: 'user' })).rejects.toMatchObject({
      exitCode: 1,
    });
  });
});
