import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { processAlive, readPostmasterPid } from 'src/database/embedded/postmaster';

describe('postmaster helpers', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omnigent-pm-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe(readPostmasterPid.name, () => {
    it('should read the pid, data directory, port and status PostgreSQL wrote', () => {
      writeFileSync(
        join(dir, 'postmaster.pid'),
        `12801\n${dir}\n1796210766\n55432\n\n127.0.0.1\n  1548513         9\nready   \n`,
      );

      expect(readPostmasterPid(dir)).toEqual({
        pid: 12801,
        dataDir: dir,
        port: 55432,
        status: 'ready',
      });
    });

    it('should give null when there is no file, or no pid in it', () => {
      expect(readPostmasterPid(dir)).toBeNull();
      writeFileSync(join(dir, 'postmaster.pid'), '');
      expect(readPostmasterPid(dir)).toBeNull();
    });
  });

  describe(processAlive.name, () => {
    it('should tell a running process from one that has exited', () => {
      const exited = spawnSync(process.execPath, ['-e', '0']);

      expect(processAlive(process.pid)).toBe(true);
      expect(processAlive(exited.pid)).toBe(false);
    });
  });
});
