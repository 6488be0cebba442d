import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { FileStorage, FileTooLargeError } from 'src/modules/files/file-storage';

/** Keys are ids joined by `/`; nothing else (no dots, no separators) can reach the disk. */
const KEY = /^[A-Za-z0-9_]{1,128}(\/[A-Za-z0-9_]{1,128}){0,3}$/;

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
    if (!KEY.test(key)) {
      throw new Error(`Invalid file store key '${key}'`);
    }
    const path = join(this.root, ...key.split('/'));
    const rel = relative(this.root, path);
    if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..')) {
      throw new Error(`File store key '${key}' escapes the store`);
    }
    return path;
  }
}

/** Passes bytes through and fails once more than `limit` went by. */
class ByteCounter extends Transform {
  bytes = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      done(new FileTooLargeError(this.limit));
      return;
    }
    done(null, chunk);
  }
}
