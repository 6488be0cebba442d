import { Readable } from 'node:stream';

/** The upload grew past the limit it was given; nothing of it is kept. */
export class FileTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`File exceeds ${limit} bytes`);
    this.name = 'FileTooLargeError';
  }
}

/**
 * Where session files keep their bytes (style rule 7: the file store's IO behind one injectable).
 * Keys are `<session id>/<file id>`. The local disk under the data directory is the default
 * backend; another (an S3-compatible store) implements the same four operations.
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
