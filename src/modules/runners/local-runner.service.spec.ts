import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Logger } from '@nestjs/common';

import { getConfig } from 'src/config/app-config';
import { LocalRunnerService } from 'src/modules/runners/local-runner.service';
import { RunnersRepository } from 'src/modules/runners/runners.repository';
import { sandboxSupport } from 'src/runner/sandbox/sandbox-probe';

jest.mock('node:child_process', () => ({ spawn: jest.fn() }));
jest.mock('src/runner/sandbox/sandbox-probe', () => ({ sandboxSupport: jest.fn() }));

const SECRET = 'j'.repeat(40);
const WORKS = { available: true, reason: null };
const BROKEN = {
  available: false,
  reason: '/usr/bin/bwrap does not work here: Creating new namespace failed',
};

function fakeChild() {
  const child = Object.assign(new EventEmitter(), {
    pid: 4242,
    exitCode: null,
    stdout: null,
    stderr: null,
    kill: jest.fn(() => setImmediate(() => child.emit('exit', null, 'SIGTERM'))),
  });
  return child;
}

describe(LocalRunnerService.name, () => {
  let saveLaunch: jest.Mock;
  let errors: jest.SpyInstance;

  function service(env: Record<string, string>): LocalRunnerService {
    const config = getConfig({
      OMNIGENT_DATA_DIR: mkdtempSync(join(tmpdir(), 'omnigent-local-runner-')),
      ...env,
    });
    saveLaunch = jest.fn().mockResolvedValue(undefined);
    return new LocalRunnerService(config, { saveLaunch } as unknown as RunnersRepository);
  }

  beforeEach(() => {
    jest
      .mocked(spawn)
      .mockReset()
      .mockReturnValue(fakeChild() as never);
    errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  const jwt = {
    OMNIGENT_AUTH: 'jwt',
    OMNIGENT_JWT_SECRET: SECRET,
    OMNIGENT_LOCAL_RUNNER: '1',
    OMNIGENT_LOCAL_RUNNER_USER: 'alice',
    DATABASE_URL: 'postgres://omnigent:pw@db/omnigent',
    PATH: '/usr/bin:/bin',
    OPENAI_API_KEY: 'sk-model',
  };

  it('should refuse to start in jwt mode without a working sandbox, with one clear line', async () => {
    jest.mocked(sandboxSupport).mockReturnValue(BROKEN as never);

    await service(jwt).start('http://127.0.0.1:6767');

    expect(spawn).not.toHaveBeenCalled();
    expect(saveLaunch).not.toHaveBeenCalled();
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors.mock.calls[0][0]).toMatch(
      /^The local runner stays off: in jwt mode its tools must run in a sandbox, and none works here \(.*Creating new namespace failed\)/,
    );
  });

  it('should start it in jwt mode with the sandbox required, the data dir protected and no server secrets', async () => {
    jest.mocked(sandboxSupport).mockReturnValue(WORKS as never);
    const local = service(jwt);

    await local.start('http://127.0.0.1:6767');

    expect(errors).not.toHaveBeenCalled();
    const [, args, options] = jest.mocked(spawn).mock.calls[0] as unknown as [
      string,
      string[],
      { env: Record<string, string> },
    ];
    expect(args).toEqual(expect.arrayContaining(['runner', '--require-sandbox']));
    expect(args[args.indexOf('--protected-path') + 1]).toBe(
      args[args.indexOf('--workspace') + 1].replace(/\/workspaces$/, ''),
    );
    expect(Object.keys(options.env).sort()).toEqual([
      'OMNIGENT_LOG_LEVEL',
      'OMNIGENT_RUNNER_TUNNEL_BINDING_TOKEN',
      'OPENAI_API_KEY',
      'PATH',
    ]);
    expect(JSON.stringify(options.env)).not.toContain(SECRET);
    await local.onApplicationShutdown();
  });

  it('should not require the sandbox in none mode (a single local user)', async () => {
    jest.mocked(sandboxSupport).mockReturnValue(BROKEN as never);

    await service({ OMNIGENT_AUTH: 'none', PATH: '/usr/bin' }).start('http://127.0.0.1:6767');

    const [, args] = jest.mocked(spawn).mock.calls[0] as unknown as [string, string[]];
    expect(args).not.toContain('--require-sandbox');
    expect(errors).not.toHaveBeenCalled();
  });
});
