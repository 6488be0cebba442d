import { Readable, Transform, TransformCallback } from 'node:stream';

/** The upload grew past the limit it was given; nothing of it is kept. */
export class FileTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`File exceeds ${limit} bytes`);
    this.name = 'FileTooLargeError';
  }
}

/** Keys are ids joined by `/`; nothing else (no dots, no separators) reaches a backend. */
const KEY = /^[A-Za-z0-9_]{1,128}(\/[A-Za-z0-9_]{1,128}){0,3}$/;

export function assertFileStoreKey(key: string): void {
  if (!KEY.test(key)) {
    throw new Error(`Invalid file store key '${key}'`);
  }
}

/** Passes bytes through and fails once more than `limit` went by. */
export class ByteCounter extends Transform {
  bytes = 0;
  /** The FileTooLargeError it failed with, if it did. */
  failure?: FileTooLargeError;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.failure = new FileTooLargeError(this.limit);
      done(this.failure);
      return;
    }
    done(null, chunk);
  }
}

/**
 * Where session files keep their bytes (style rule 7: the file store's IO behind one injectable).
 * Keys are `<session id>/<file id>`. The local disk under the data directory is the default
 * backend; an S3-compatible bucket (s3-file-storage.ts) implements the same operations.
 */
export abstract class FileStorage {
  /**
   * Streams `source` into `key` and resolves with the bytes written. Past `maxBytes` it rejects
   * with FileTooLargeError; on any failure nothing is left under `key`.
   */
  abstract write(key: string, source: Readable, maxBytes: number): Promise<number>;
  /** The bytes of `key` as a stream (errors with ENOENT when missing). */
  abstract read(key: string): Readable;
  abstract copy(fromKey: string, toKey: string): Promise<void>;
  /** Removes a key; a missing key is not an error. */
  abstract delete(key: string): Promise<void>;
  /** Removes every key under `<prefix>/`. */
  abstract deletePrefix(prefix: string): Promise<void>;
}
