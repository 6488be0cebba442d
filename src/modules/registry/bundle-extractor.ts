import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

import type { Header } from 'tar-stream';

export const DEFAULT_BUNDLE_MAX_ENTRIES = 1000;
export const DEFAULT_BUNDLE_MAX_UNPACKED_BYTES = 10 * 1024 * 1024;

export const BUNDLE_CONFIG_FILE = 'config.yaml';

// Headers, long-name records and padding come on top of file data; past this much tar stream per
// entry the archive is padding or garbage (e.g. a gzip bomb of zeros), so inflation stops early.
const TAR_OVERHEAD_PER_ENTRY = 16 * 1024;
const MAX_NAME_LENGTH = 4096;
// What common filesystems allow for one path segment: a bundle must stay writable to disk by
// whoever unpacks it later, and a longer name is never a real agent file.
const MAX_SEGMENT_BYTES = 255;

export interface BundleLimits {
  maxEntries?: number;
  maxUnpackedBytes?: number;
}

export interface BundleContents {
  /** `config.yaml` of the bundle root, as UTF-8 text. */
  configYaml: string;
  /** Every regular file by its path relative to the bundle root (`/`-separated), in name order. */
  files: Map<string, Buffer>;
}

/** An uploaded bundle that is not acceptable; the message is safe to show to the uploader. */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

function quoteName(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}

// The entry's path as `/`-separated segments; throws for anything that could name a place outside
// the bundle once written somewhere, or that no filesystem could hold.
function entrySegments(name: string): string[] {
  if (name.includes('\\') || name.includes('\0')) {
    throw new BundleError('bundle entry names must not contain backslashes or NUL characters');
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new BundleError(`bundle entry name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
    throw new BundleError(`bundle entry ${quoteName(name)} has an absolute path`);
  }
  const segments = name.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) {
    throw new BundleError(`bundle entry ${quoteName(name)} contains a ".." segment`);
  }
  if (segments.some((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)) {
    throw new BundleError(
      `bundle entry ${quoteName(name)} has a file or directory name longer than ${MAX_SEGMENT_BYTES} bytes`,
    );
  }
  return segments;
}

class ByteLimit extends Transform {
  private seen = 0;

  constructor(
    private readonly limit: number,
    private readonly message: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      callback(new BundleError(this.message));
      return;
    }
    callback(null, chunk);
  }
}

function toBundleError(err: unknown): BundleError {
  if (err instanceof BundleError) {
    return err;
  }
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new BundleError('bundle is not a valid gzip archive');
  }
  return new BundleError('bundle is not a valid tar archive');
}

/** Collects entries in memory while enforcing the count, byte, name and type guards. */
class BundleCollector {
  readonly files = new Map<string, Buffer>();
  readonly dirs = new Set<string>();
  private entries = 0;
  private unpackedBytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxUnpackedBytes: number,
  ) {}

  async add(header: Header, content: AsyncIterable<Buffer>): Promise<void> {
    this.entries += 1;
    if (this.entries > this.maxEntries) {
      throw new BundleError(`bundle has more than ${this.maxEntries} entries`);
    }
    const segments = entrySegments(header.name);
    const relPath = segments.join('/');
    // tar-stream reports typeflags it does not know as null, whatever its typings say.
    const type: Header['type'] | null = header.type;
    if (type === 'directory') {
      if (relPath !== '') {
        this.markParents(segments);
      }
      return;
    }
    if (type !== 'file' && type !== 'contiguous-file') {
      throw new BundleError(
        `bundle entry ${quoteName(header.name)} is a ${type ?? 'special file'}; only files and directories are allowed`,
      );
    }
    if (relPath === '') {
      throw new BundleError(`bundle entry ${quoteName(header.name)} has no file name`);
    }
    await this.addFile(segments, header.size ?? 0, content);
  }

  private markParents(segments: string[]): void {
    for (let depth = 1; depth <= segments.length; depth += 1) {
      const dir = segments.slice(0, depth).join('/');
      if (this.files.has(dir)) {
        throw new BundleError(`bundle entry ${quoteName(dir)} is both a file and a directory`);
      }
      this.dirs.add(dir);
    }
  }

  private async addFile(
    segments: string[],
    declaredSize: number,
    content: AsyncIterable<Buffer>,
  ): Promise<void> {
    const relPath = segments.join('/');
    if (this.files.has(relPath) || this.dirs.has(relPath)) {
      throw new BundleError(`bundle has more than one entry named ${quoteName(relPath)}`);
    }
    // Refuse before reading a byte when the header already announces too much.
    if (this.unpackedBytes + declaredSize > this.maxUnpackedBytes) {
      throw new BundleError(`bundle unpacks to more than ${this.maxUnpackedBytes} bytes`);
    }
    this.markParents(segments.slice(0, -1));
    const chunks: Buffer[] = [];
    for await (const chunk of content) {
      this.unpackedBytes += chunk.length;
      if (this.unpackedBytes > this.maxUnpackedBytes) {
        throw new BundleError(`bundle unpacks to more than ${this.maxUnpackedBytes} bytes`);
      }
      chunks.push(chunk);
    }
    this.files.set(relPath, Buffer.concat(chunks));
  }
}

function byName(entries: [string, Buffer][]): Map<string, Buffer> {
  return new Map(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// Accepts `config.yaml` at the root, or one top-level directory wrapping everything
// (`tar czf x.tgz myagent/`), whose prefix is then dropped so paths are relative to the bundle root.
function rooted(collector: BundleCollector): Map<string, Buffer> {
  const { files, dirs } = collector;
  if (files.has(BUNDLE_CONFIG_FILE)) {
    return byName([...files]);
  }
  const tops = new Set([...files.keys(), ...dirs].map((entry) => entry.split('/')[0]));
  const [wrapper] = tops;
  if (tops.size !== 1 || !files.has(`${wrapper}/${BUNDLE_CONFIG_FILE}`)) {
    throw new BundleError(`bundle has no ${BUNDLE_CONFIG_FILE} at its root`);
  }
  return byName([...files].map(([name, data]) => [name.slice(wrapper.length + 1), data]));
}

/**
 * Reads an uploaded agent bundle (`.tar.gz`) into memory, entry by entry, enforcing the limits
 * while inflating: nothing touches the filesystem, so nothing is left behind whatever happens to
 * the process. Throws a BundleError for anything unacceptable.
 */
export async function readBundle(
  archive: Buffer,
  limits: BundleLimits = {},
): Promise<BundleContents> {
  const maxEntries = limits.maxEntries ?? DEFAULT_BUNDLE_MAX_ENTRIES;
  const maxUnpackedBytes = limits.maxUnpackedBytes ?? DEFAULT_BUNDLE_MAX_UNPACKED_BYTES;
  if (archive.length < 2 || archive[0] !== 0x1f || archive[1] !== 0x8b) {
    throw new BundleError('bundle is not a gzip archive');
  }
  const collector = new BundleCollector(maxEntries, maxUnpackedBytes);
  // tar-stream loads with the first bundle, not at start-up (issue 12).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const extract = (require('tar-stream') as typeof import('tar-stream')).extract();
  const feeding = pipeline(
    Readable.from([archive]),
    createGunzip(),
    new ByteLimit(
      maxUnpackedBytes + (maxEntries + 1) * TAR_OVERHEAD_PER_ENTRY,
      `bundle unpacks to more than ${maxUnpackedBytes} bytes`,
    ),
    extract,
  );
  // The loop below sees the same failure through the extractor; this keeps it from going unhandled.
  feeding.catch(() => undefined);
  try {
    for await (const entry of extract) {
      await collector.add(entry.header, entry as AsyncIterable<Buffer>);
    }
    await feeding;
  } catch (err) {
    extract.destroy();
    throw toBundleError(err);
  }
  const files = rooted(collector);
  return { configYaml: (files.get(BUNDLE_CONFIG_FILE) as Buffer).toString('utf8'), files };
}
