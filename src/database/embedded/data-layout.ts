import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';

import { Logger } from '@nestjs/common';

import { EmbeddedPostgresError } from 'src/database/embedded/embedded-postgres.errors';
import { accountCanReach, OsAccount } from 'src/database/embedded/os-account';
import { binariesIn, PostgresBinaries } from 'src/database/embedded/postgres-binaries';

/**
 * Where a server running as root keeps what its database account could not reach otherwise:
 * a copy of the binaries, and the database files of data directories under private parents
 * (such as root's home). Parents here are traversable; each database directory is 0700.
 */
export const ROOT_STATE_DIR = '/var/lib/omnigent';

/** The embedded database's files inside the data directory (README "Data directory"). */
export interface DataLayout {
  dataDir: string;
  /** `<dataDir>/postgres`: the PostgreSQL data directory itself, or a link to it. */
  link: string;
  /** The real PostgreSQL data directory (the link's target when relocated). */
  pgdata: string;
  passwordFile: string;
  logFile: string;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Decides where the PostgreSQL data directory lives. Normally `<dataDir>/postgres`. When the
 * server runs as root and the database account cannot reach the data directory (root's home,
 * any 0700 parent), the files go to `/var/lib/omnigent/data-<hash of the path>` and
 * `<dataDir>/postgres` becomes a link to them, so later starts (and people) find them.
 */
export function resolveLayout(
  dataDir: string,
  account: OsAccount | undefined,
  logger: Logger,
): DataLayout {
  mkdirSync(dataDir, { recursive: true });
  const root = realpathSync(dataDir);
  const link = join(root, 'postgres');
  const layout = {
    dataDir: root,
    link,
    pgdata: link,
    passwordFile: join(root, 'postgres.password'),
    logFile: join(root, 'postgres.log'),
  };
  if (isSymlink(link)) {
    return { ...layout, pgdata: resolve(root, readlinkSync(link)) };
  }
  if (!account || existsSync(link) || accountCanReach(account, root, 'directory')) {
    return layout;
  }
  const hash = createHash('sha256').update(root).digest('hex').slice(0, 16);
  const pgdata = join(ROOT_STATE_DIR, `data-${hash}`);
  mkdirSync(ROOT_STATE_DIR, { recursive: true, mode: 0o755 });
  symlinkSync(pgdata, link);
  logger.log(
    `The OS account '${account.name}' cannot reach ${root}, so the database files live in ` +
      `${pgdata} (linked from ${link})`,
  );
  return { ...layout, pgdata };
}

/**
 * As root, the binaries must be executable by the database account too: a checkout under
 * root's home is not. Then they are copied once per version to /var/lib/omnigent.
 */
export function reachableBinaries(
  binaries: PostgresBinaries,
  account: OsAccount | undefined,
  logger: Logger,
): PostgresBinaries {
  if (!account || accountCanReach(account, binaries.postgres, 'executable')) {
    return binaries;
  }
  const target = join(
    ROOT_STATE_DIR,
    `postgres-${binaries.version}-${process.platform}-${process.arch}`,
  );
  if (!existsSync(target)) {
    mkdirSync(ROOT_STATE_DIR, { recursive: true, mode: 0o755 });
    const partial = `${target}.partial-${randomBytes(4).toString('hex')}`;
    logger.log(
      `The OS account '${account.name}' cannot reach ${binaries.nativeDir}: copying the ` +
        `PostgreSQL binaries to ${target}`,
    );
    cpSync(binaries.nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    chmodSync(partial, 0o755);
    try {
      renameSync(partial, target);
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(target)) {
        throw error;
      }
    }
  }
  const copy = binariesIn(target, binaries.version);
  if (!accountCanReach(account, copy.postgres, 'executable')) {
    throw new EmbeddedPostgresError(
      `The OS account '${account.name}' cannot execute ${copy.postgres}; make ${ROOT_STATE_DIR} ` +
        'traversable (chmod 755), or set DATABASE_URL.',
    );
  }
  return copy;
}

/**
 * The superuser password, generated once and kept in a 0600 file next to the database. The
 * database accepts only password (SCRAM) logins over 127.0.0.1, so other local users cannot
 * get in.
 */
export function readPassword(layout: DataLayout, create: boolean): string {
  if (existsSync(layout.passwordFile)) {
    chmodSync(layout.passwordFile, 0o600);
    const password = readFileSync(layout.passwordFile, 'utf8').trim();
    if (password) {
      return password;
    }
  }
  if (!create) {
    throw new EmbeddedPostgresError(
      `${layout.passwordFile} is missing or empty, so the server cannot log in to the embedded ` +
        `database in ${layout.pgdata}. Restore the file, or move the database away to start afresh.`,
    );
  }
  const password = randomBytes(24).toString('base64url');
  writeFileSync(layout.passwordFile, `${password}\n`, { mode: 0o600 });
  return password;
}

/** A directory PostgreSQL may use: owned by the account (when there is one), 0700. */
export function makePrivateDir(path: string, account: OsAccount | undefined): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  if (account) {
    chownSync(path, account.uid, account.gid);
  }
}

/** A throw-away sibling path for an atomic create-then-rename. */
export function siblingTemp(path: string, label: string): string {
  return join(resolve(path, '..'), `.${basename(path)}.${label}-${randomBytes(4).toString('hex')}`);
}
