import { mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Logger } from '@nestjs/common';

import { readPassword, resolveLayout } from 'src/database/embedded/data-layout';
import { EmbeddedPostgresError } from 'src/database/embedded/embedded-postgres.errors';

describe('the embedded data layout', () => {
  let dataDir: string;
  const logger = new Logger('test');

  beforeEach(() => {
    dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'omnigent-layout-')));
  });

  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('should keep the database, its password and its log in the data directory', () => {
    expect(resolveLayout(dataDir, undefined, logger)).toEqual({
      dataDir,
      link: join(dataDir, 'postgres'),
      pgdata: join(dataDir, 'postgres'),
      passwordFile: join(dataDir, 'postgres.password'),
      logFile: join(dataDir, 'postgres.log'),
    });
  });

  it('should generate the password once, in a 0600 file, and read it back', () => {
    const layout = resolveLayout(dataDir, undefined, logger);

    const password = readPassword(layout, true);

    expect(password).toMatch(/^[\w-]{32}$/);
    expect(statSync(layout.passwordFile).mode & 0o777).toBe(0o600);
    expect(readPassword(layout, false)).toBe(password);
  });

  it('should refuse to go on without the password of an existing database', () => {
    const layout = resolveLayout(dataDir, undefined, logger);
    writeFileSync(layout.passwordFile, '\n');

    expect(() => readPassword(layout, false)).toThrow(EmbeddedPostgresError);
  });
});
