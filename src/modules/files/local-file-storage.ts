import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { assertFileStoreKey, ByteCounter, FileStorage } from 'src/modules/files/file-storage';

/**
 * Session files on the local disk, under `root` (`<data dir>/files`). A write goes to a
 * temporary name first and is renamed into place once complete, so a reader never sees half
 * a file and a failed upload leaves nothing behind.
 */
export class LocalFileStorage extends FileStorage {
  constructor(private readonly root: string) {
    super();
  }

  async write(key: string, source: Readable, maxBytes: number): Promise<number> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const partial = `${target}.${randomBytes(6).toString('hex')}.part`;
    const counter = new ByteCounter(maxBytes);
    try {
      await pipeline(source, counter, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
      await rename(partial, target);
      return counter.bytes;
    } catch (error) {
      await unlink(partial).catch(() => undefined);
      throw error;
    }
  }

  read(key: string): Readable {
    return createReadStream(this.pathOf(key));
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const target = this.pathOf(toKey);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await copyFile(this.pathOf(fromKey), target);
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.pathOf(prefix), { force: true, recursive: true });
  }

  /** The path of a key, refused unless it is a well-formed key inside the root. */
  private pathOf(key: string): string {
    assertFileStoreKey(key);
    const path = join(this.root, ...key.split('/'));
    const rel = relative(this.root, path);
    if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..')) {
      throw new Error(`File store key '${key}' escapes the store`);
    }
    return path;
  }
}
