import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

import { EmbeddedPostgresError } from 'src/database/embedded/embedded-postgres.errors';

const run = promisify(execFile);

/** The OS account the embedded PostgreSQL runs as when the server runs as root. */
export const DATABASE_ACCOUNT = 'omnigent-db';

export interface OsAccount {
  name: string;
  uid: number;
  gid: number;
  /** True when this start created it. */
  created: boolean;
}

/** PostgreSQL refuses to run as root (`initdb: cannot be run as root`). */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

async function lookup(name: string): Promise<{ uid: number; gid: number } | null> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return null;
  }
}

/**
 * The dedicated account, created on first use as a system account without a home or a login
 * shell. Concurrent starts may race to create it (useradd locks /etc/passwd): whoever loses
 * finds it on the next look-up.
 */
export async function ensureDatabaseAccount(name = DATABASE_ACCOUNT): Promise<OsAccount> {
  const existing = await lookup(name);
  if (existing) {
    return { name, ...existing, created: false };
  }
  let failure = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await run('useradd', [
        '--system',
        '--user-group',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/usr/sbin/nologin',
        name,
      ]);
    } catch (error) {
      failure = ((error as { stderr?: string }).stderr ?? String(error)).trim();
    }
    const found = await lookup(name);
    if (found) {
      return { name, ...found, created: failure === '' };
    }
    await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
  }
  throw new EmbeddedPostgresError(
    `Running as root, the embedded PostgreSQL needs an OS account of its own, and creating ` +
      `'${name}' failed (${failure || 'useradd did not create it'}). Create it ` +
      `(useradd --system --user-group ${name}), run the server as another user, or set DATABASE_URL.`,
  );
}

/**
 * Whether the account can get to a path: `cd` into a directory, or execute a file. Checked by
 * the kernel itself (a probe process under the account's uid), so ACLs and every parent's mode
 * count, as they will for PostgreSQL.
 */
export function accountCanReach(account: OsAccount, path: string, as: 'directory' | 'executable') {
  const probe = spawnSync(
    '/bin/sh',
    ['-c', as === 'directory' ? 'cd -- "$1"' : 'test -x "$1"', 'probe', path],
    { uid: account.uid, gid: account.gid, stdio: 'ignore', env: {} },
  );
  return probe.status === 0;
}
