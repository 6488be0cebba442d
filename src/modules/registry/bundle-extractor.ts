import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract, Header } from 'tar-stream';

export const DEFAULT_BUNDLE_MAX_ENTRIES = 1000;
export const DEFAULT_BUNDLE_MAX_UNPACKED_BYTES = 10 * 1024 * 1024;

export const BUNDLE_CONFIG_FILE = 'config.yaml';

// Headers, long-name records and padding come on top of file data; past this much tar stream per
// entry the archive is padding or garbage (e.g. a gzip bomb of zeros), so inflation stops early.
const TAR_OVERHEAD_PER_ENTRY = 16 * 1024;
const MAX_NAME_LENGTH = 4096;

export interface BundleLimits {
  maxEntries?: number;
  maxUnpackedBytes?: number;
}

export interface ExtractedBundle {
  /** Regular files written, relative to destDir, `/`-separated, sorted. */
  files: string[];
  configYaml: string;
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

// Returns the entry's path as `/`-separated segments, or throws for anything that could leave destDir.
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

function toBundleError(err: unknown): unknown {
  if (err instanceof BundleError) {
    return err;
  }
  const error = err as NodeJS.ErrnoException;
  // Filesystem failures are ours, not the uploader's: let them surface as server errors.
  if (typeof (error as { syscall?: unknown }).syscall === 'string') {
    return err;
  }
  if (typeof error.code === 'string' && error.code.startsWith('Z_')) {
    return new BundleError('bundle is not a valid gzip archive');
  }
  return new BundleError('bundle is not a valid tar archive');
}

async function prepareDestination(destDir: string): Promise<boolean> {
  try {
    const existing = await readdir(destDir);
    if (existing.length > 0) {
      // Refusing a non-empty target keeps cleanup safe: everything in destDir is then ours.
      throw new Error(`bundle destination ${destDir} is not empty`);
    }
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw err;
    }
  }
  await mkdir(destDir, { recursive: true });
  return true;
}

async function cleanUp(destDir: string, created: boolean): Promise<void> {
  if (created) {
    await rm(destDir, { recursive: true, force: true });
    return;
  }
  const entries = await readdir(destDir).catch(() => []);
  await Promise.all(
    entries.map((entry) => rm(path.join(destDir, entry), { recursive: true, force: true })),
  );
}

class BundleWriter {
  readonly files = new Set<string>();
  readonly dirs = new Set<string>();
  private entries = 0;
  private unpackedBytes = 0;

  constructor(
    private readonly destDir: string,
    private readonly maxEntries: number,
    private readonly maxUnpackedBytes: number,
  ) {}

  async write(header: Header, content: AsyncIterable<Buffer>): Promise<void> {
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
        await this.addDirectory(segments);
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

  private target(segments: string[]): string {
    const target = path.resolve(this.destDir, ...segments);
    if (!target.startsWith(this.destDir + path.sep)) {
      throw new BundleError(`bundle entry ${quoteName(segments.join('/'))} leaves the bundle`);
    }
    return target;
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

  private async addDirectory(segments: string[]): Promise<void> {
    const target = this.target(segments);
    this.markParents(segments);
    await mkdir(target, { recursive: true, mode: 0o755 });
  }

  private async addFile(
    segments: string[],
    declaredSize: number,
    content: AsyncIterable<Buffer>,
  ): Promise<void> {
    const relPath = segments.join('/');
    const target = this.target(segments);
    if (this.files.has(relPath) || this.dirs.has(relPath)) {
      throw new BundleError(`bundle has more than one entry named ${quoteName(relPath)}`);
    }
    // Refuse before writing a byte when the header already announces too much.
    if (this.unpackedBytes + declaredSize > this.maxUnpackedBytes) {
      throw new BundleError(`bundle unpacks to more than ${this.maxUnpackedBytes} bytes`);
    }
    this.markParents(segments.slice(0, -1));
    this.files.add(relPath);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    const file = await open(target, 'wx', 0o644);
    try {
      for await (const chunk of content) {
        this.unpackedBytes += chunk.length;
        if (this.unpackedBytes > this.maxUnpackedBytes) {
          throw new BundleError(`bundle unpacks to more than ${this.maxUnpackedBytes} bytes`);
        }
        await file.write(chunk);
      }
    } finally {
      await file.close();
    }
  }
}

// Accepts `config.yaml` at the root, or one top-level directory wrapping everything
// (`tar czf x.tgz myagent/`), which is moved up so destDir is always the bundle root.
async function findRoot(destDir: string, writer: BundleWriter): Promise<string[]> {
  const files = [...writer.files];
  if (writer.files.has(BUNDLE_CONFIG_FILE)) {
    return files.sort();
  }
  const tops = new Set([...files, ...writer.dirs].map((entry) => entry.split('/')[0]));
  const [wrapper] = tops;
  if (tops.size !== 1 || !writer.files.has(`${wrapper}/${BUNDLE_CONFIG_FILE}`)) {
    throw new BundleError(`bundle has no ${BUNDLE_CONFIG_FILE} at its root`);
  }
  const staging = path.join(destDir, `.unwrap-${randomUUID()}`);
  await rename(path.join(destDir, wrapper), staging);
  for (const child of await readdir(staging)) {
    await rename(path.join(staging, child), path.join(destDir, child));
  }
  await rmdir(staging);
  return files.map((file) => file.slice(wrapper.length + 1)).sort();
}

/**
 * Safely unpacks an uploaded agent bundle (`.tar.gz`) into destDir, which must be absent or empty.
 * Streams entry by entry and enforces the limits while reading. On any rejection destDir is left
 * removed (or empty when it already existed) and a BundleError is thrown.
 */
export async function extractBundle(
  archive: Buffer,
  destDir: string,
  limits: BundleLimits = {},
): Promise<ExtractedBundle> {
  const maxEntries = limits.maxEntries ?? DEFAULT_BUNDLE_MAX_ENTRIES;
  const maxUnpackedBytes = limits.maxUnpackedBytes ?? DEFAULT_BUNDLE_MAX_UNPACKED_BYTES;
  if (archive.length < 2 || archive[0] !== 0x1f || archive[1] !== 0x8b) {
    throw new BundleError('bundle is not a gzip archive');
  }
  const root = path.resolve(destDir);
  const created = await prepareDestination(root);
  const writer = new BundleWriter(root, maxEntries, maxUnpackedBytes);
  const extract = tarExtract();
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
      await writer.write(entry.header, entry as AsyncIterable<Buffer>);
    }
    await feeding;
    const files = await findRoot(root, writer);
    const configYaml = await readFile(path.join(root, BUNDLE_CONFIG_FILE), 'utf8');
    return { files, configYaml };
  } catch (err) {
    extract.destroy();
    await cleanUp(root, created);
    throw toBundleError(err);
  }
}
